// Whether speculation pays on this machine, for this model, at this batch size — measured, not assumed.
// Per bucket of running requests the gate alternates between two arms, speculation on (MTP drafts, the
// per-request length from acceptance) and off (no MTP work at all), and keeps the one with the lower
// measured milliseconds per generated token:
//   explore one arm for EXPLORE decode steps, then the other, then exploit the faster for EXPLOIT steps,
//   and measure both again; each time the same arm wins, its next exploitation lasts twice as long (up to
//   MAX_EXPLOIT), so a settled choice costs ever less exploring.
// Only decode-only steps count (a prefill chunk's cost says nothing about drafting), and the first SETTLE
// steps after a switch do not (turning speculation on first catches the MTP layer up on the rows it skipped).
// A small bundled model, whose step is mostly fixed cost, measures drafting as a loss and runs plain; a
// bandwidth-bound model keeps drafting wherever verify rows ride on the weight reads.

const EXPLORE = 12,
  EXPLOIT = 192,
  MAX_EXPLOIT = 6144,
  SETTLE = 2;

type Arm = 'on' | 'off';

interface Bucket {
  mode: Arm;
  /** Steps left in the current phase, and whether it is an exploration. */
  left: number;
  exploring: boolean;
  /** Steps to skip before measuring (after a switch). */
  settle: number;
  /** The last exploitation's arm and length. */
  winner: Arm | undefined;
  exploit: number;
  /** This phase's sums, and each arm's last measured ms per token. */
  ms: number;
  tokens: number;
  last: { on?: number; off?: number };
}

export interface GateSnapshot {
  /** Bucket (largest running count it covers) → current arm and the last ms per token measured for each arm. */
  readonly [bucket: string]: { readonly mode: Arm; readonly on: number | null; readonly off: number | null };
}

/** What the speculator asks of a gate (tests drive a scripted one). */
export interface Gate {
  on(running: number): boolean;
  observe(running: number, ms: number, tokens: number): void;
  snapshot(): GateSnapshot;
}

export class SpeculationGate implements Gate {
  private readonly buckets = new Map<number, Bucket>();

  /** `measured` false: always on (tests and benchmarks that fix the draft length). */
  constructor(private readonly measured: boolean) {}

  /** Whether requests may draft (and keep their MTP layer caught up) at this batch size. */
  on(running: number): boolean {
    return !this.measured || this.bucket(running).mode === 'on';
  }

  /** A finished decode-only step at this batch size: its time and the tokens it generated. */
  observe(running: number, ms: number, tokens: number): void {
    if (!this.measured || tokens === 0) return;
    const b = this.bucket(running);
    if (b.settle > 0) {
      b.settle--;
      return;
    }
    b.ms += ms;
    b.tokens += tokens;
    if (--b.left > 0) return;
    b.last[b.mode] = b.ms / b.tokens;
    const { on, off } = b.last;
    if (on === undefined || off === undefined) this.switchTo(b, on === undefined ? 'on' : 'off', true);
    else if (b.exploring) {
      const best: Arm = on <= off ? 'on' : 'off';
      b.exploit = best === b.winner ? Math.min(MAX_EXPLOIT, 2 * b.exploit) : EXPLOIT;
      b.winner = best;
      this.switchTo(b, best, false);
    } else this.switchTo(b, b.mode === 'on' ? 'off' : 'on', true);
  }

  snapshot(): GateSnapshot {
    const out: Record<string, { mode: Arm; on: number | null; off: number | null }> = {};
    for (const [k, b] of this.buckets) out[k] = { mode: b.mode, on: b.last.on ?? null, off: b.last.off ?? null };
    return out;
  }

  private switchTo(b: Bucket, mode: Arm, exploring: boolean): void {
    if (mode !== b.mode) b.settle = SETTLE;
    b.mode = mode;
    b.exploring = exploring;
    b.left = exploring ? EXPLORE : b.exploit;
    b.ms = 0;
    b.tokens = 0;
  }

  private bucket(running: number): Bucket {
    const key = running <= 1 ? 1 : running <= 4 ? 4 : running <= 8 ? 8 : running <= 16 ? 16 : 2 ** Math.ceil(Math.log2(running));
    let b = this.buckets.get(key);
    if (!b)
      this.buckets.set(key, (b = { mode: 'on', left: EXPLORE, exploring: true, settle: 0, winner: undefined, exploit: EXPLOIT, ms: 0, tokens: 0, last: {} }));
    return b;
  }
}

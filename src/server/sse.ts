// Server-sent events with backpressure: frames go into a ReadableStream whose consumer is the socket; `send`
// resolves only when the stream has room again, so a slow client slows its own request instead of growing a
// queue. A cancelled stream (the client went away) fires onCancel once.

import type { SseFrame } from './protocol/dialect.js';

/** `event: X\ndata: {...}\n\n`, or `: comment\n\n`. */
export function formatFrame(f: SseFrame): string {
  if (f.comment !== undefined) return `: ${f.comment}\n\n`;
  return (f.event !== undefined ? `event: ${f.event}\n` : '') + `data: ${f.data ?? ''}\n\n`;
}

export class SseChannel {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly encoder = new TextEncoder();
  private waiting: (() => void) | undefined;
  private closed = false;
  private cancelled = false;
  private readonly cancelListeners: (() => void)[] = [];
  /** When the last frame was queued (keep-alives are sent after silences). */
  lastSend = Date.now();

  /** highWater: frames buffered before send() waits for the client. */
  constructor(highWater = 64) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          this.wake();
        },
        cancel: () => {
          this.cancelled = true;
          this.closed = true;
          this.wake();
          for (const l of this.cancelListeners.splice(0)) l();
        },
      },
      new CountQueuingStrategy({ highWaterMark: highWater }),
    );
  }

  get isCancelled(): boolean {
    return this.cancelled;
  }

  onCancel(listener: () => void): void {
    if (this.cancelled) listener();
    else this.cancelListeners.push(listener);
  }

  /** Queues frames; waits while the client is behind. Frames after close or cancel are dropped. */
  async send(frames: readonly SseFrame[]): Promise<void> {
    if (frames.length === 0 || this.closed) return;
    this.controller.enqueue(this.encoder.encode(frames.map(formatFrame).join('')));
    this.lastSend = Date.now();
    while (!this.closed && (this.controller.desiredSize ?? 1) <= 0) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    try {
      this.controller.close();
    } catch {
      /* already errored or cancelled */
    }
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

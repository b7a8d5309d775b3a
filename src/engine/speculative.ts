// Speculative decoding's acceptance rule (Leviathan et al. / Chen et al.), as pure functions: a draft
// token d drawn from the draft distribution q is kept with probability min(1, p(d)/q(d)) under the target
// distribution p; on rejection the replacement is drawn from norm(max(0, p − q)). The emitted tokens are
// then distributed exactly as p. Greedy is the special case of one-hot p and q: keep d iff it is the
// target's argmax.

import { sampleFrom, type Rng } from './sampler.js';

export type Verdict = { readonly accepted: true } | { readonly accepted: false; readonly token: number };

export function verifyDraft(p: Float64Array, q: Float64Array, d: number, rng: Rng): Verdict {
  const pd = p[d]!, qd = q[d]!;
  if (qd > 0 && (pd >= qd || rng.next() * qd < pd)) return { accepted: true };
  const r = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) s += r[i] = Math.max(0, p[i]! - q[i]!);
  if (!(s > 0)) return { accepted: false, token: sampleFrom(p, rng) };
  for (let i = 0; i < r.length; i++) r[i] = r[i]! / s;
  return { accepted: false, token: sampleFrom(r, rng) };
}

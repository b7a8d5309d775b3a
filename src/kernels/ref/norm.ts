// Reference RMSNorm and LayerNorm (statistics in f64).

export function rmsNorm(x: Float32Array, T: number, D: number, w: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(T * D);
  for (let t = 0; t < T; t++) {
    const o = t * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[o + i]! * x[o + i]!;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let i = 0; i < D; i++) y[o + i] = x[o + i]! * inv * w[i]!;
  }
  return y;
}

export function layerNorm(x: Float32Array, T: number, D: number, w: Float32Array, b: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(T * D);
  for (let t = 0; t < T; t++) {
    const o = t * D;
    let mean = 0;
    for (let i = 0; i < D; i++) mean += x[o + i]!;
    mean /= D;
    let v = 0;
    for (let i = 0; i < D; i++) v += (x[o + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / D + eps);
    for (let i = 0; i < D; i++) y[o + i] = (x[o + i]! - mean) * inv * w[i]! + b[i]!;
  }
  return y;
}

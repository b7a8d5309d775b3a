// Token panels, the input layout of Kernels::gemmPanel: a panel holds up to TP = panelTokens tokens
// transposed, P[k·TP + lane], so the tokens lie across SIMD lanes. Built once per op by the drivers (the
// transpose costs one pass over the activations; the product reuses each panel for every weight row).
#pragma once
#include <cstdint>

namespace glm5 {

// Columns [k0, k1) of panel `dst` (K wide): lane i < n takes row src(i), lanes n..TP are zero.
// src(i) = x + (idx ? idx[i] : i)·ldx.
void fillPanel(const float* x, int64_t ldx, const int64_t* idx, int64_t n, int64_t TP, int64_t k0, int64_t k1, float* dst);

// Lanes [0, n) of a panel K wide rounded as int4 products round their activations (src/tensor/int4.ts quantizeQ8:
// per 32 columns d = amax/127, value = round(v/d)·d in f32), in place: the panel kernel then computes what the
// decode kernel's integer sums do. Lanes ≥ n are left alone (zero).
void roundPanelQ8(float* P, int64_t K, int64_t n, int64_t TP);

}  // namespace glm5

// MoE expert compute: group the T·K (token, expert) pairs by expert, run each used expert once over
// its gathered tokens (gate/up/down as small matmuls), scatter-add the weighted outputs.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"
#include "pool.h"

namespace glm5 {

// One token (decode): every routed expert's gate/up rows in one parallelFor, then the down rows in another
// (each task owns a row range of the output and sums over the experts), instead of expert after expert.
static void moeToken(const MoeArgs& a, float* out) {
  const int64_t D = a.D, k = a.k, n = poolThreads();
  const Kernels& K_ = K();
  const int64_t I = a.experts[3 * a.ids[0]].rows;
  std::vector<float> gu(2 * k * I), h(k * I);
  const int64_t serial = 3 * k * I * D < (1 << 15);
  {
    const int64_t chunk = serial ? I : std::max<int64_t>(16, (I * 2 * k / (4 * n) + 15) / 16 * 16);
    const int64_t nc = (I + chunk - 1) / chunk;
    parallelFor(2 * k * nc, [&](int64_t task, int) {
      const int64_t m = task / nc, r0 = (task % nc) * chunk, r1 = std::min(I, r0 + chunk);
      const WeightRef& w = a.experts[3 * a.ids[m / 2] + (m % 2)];
      K_.gemv(w, a.x, gu.data() + m * I + r0, r0, r1);
    });
  }
  for (int64_t j = 0; j < k; j++) K_.siluMul(gu.data() + 2 * j * I, gu.data() + (2 * j + 1) * I, I, h.data() + j * I);
  const int64_t chunk = serial ? D : std::max<int64_t>(16, (D / (4 * n) + 15) / 16 * 16);
  parallelFor((D + chunk - 1) / chunk, [&](int64_t task, int) {
    const int64_t r0 = task * chunk, r1 = std::min(D, r0 + chunk);
    float tmp[4096];
    std::fill(out + r0, out + r1, 0.f);
    for (int64_t q0 = r0; q0 < r1; q0 += 4096) {
      const int64_t q1 = std::min(r1, q0 + 4096);
      for (int64_t j = 0; j < k; j++) {
        K_.gemv(a.experts[3 * a.ids[j] + 2], h.data() + j * I, tmp, q0, q1);
        const float wgt = a.weights[j];
        for (int64_t r = q0; r < q1; r++) out[r] += wgt * tmp[r - q0];
      }
    }
  });
}

void moe(const MoeArgs& a, float* out) {
  const int64_t D = a.D;
  if (a.T == 1 && a.k > 0) {
    bool same = true;  // the fused path needs one intermediate width
    for (int64_t j = 0; j < a.k; j++) same = same && a.experts[3 * a.ids[j]].rows == a.experts[3 * a.ids[0]].rows;
    if (same) return moeToken(a, out);
  }
  std::fill(out, out + a.T * D, 0.f);
  std::vector<std::vector<int64_t>> pairs(a.E);  // expert → indices t*k + j
  for (int64_t p = 0; p < a.T * a.k; p++) pairs[a.ids[p]].push_back(p);
  std::vector<float> xg, g, u, y;
  for (int64_t e = 0; e < a.E; e++) {
    const auto& ps = pairs[e];
    if (ps.empty()) continue;
    const WeightRef &gate = a.experts[3 * e], &up = a.experts[3 * e + 1], &down = a.experts[3 * e + 2];
    const int64_t n = int64_t(ps.size()), I = gate.rows;
    xg.resize(n * D);
    for (int64_t i = 0; i < n; i++) std::copy(a.x + (ps[i] / a.k) * D, a.x + (ps[i] / a.k + 1) * D, xg.data() + i * D);
    g.resize(n * I), u.resize(n * I), y.resize(n * D);
    matmul(gate, xg.data(), n, g.data());
    matmul(up, xg.data(), n, u.data());
    siluMul(g.data(), u.data(), n * I, g.data());
    matmul(down, g.data(), n, y.data());
    for (int64_t i = 0; i < n; i++) {
      const float wgt = a.weights[ps[i]];
      float* o = out + (ps[i] / a.k) * D;
      for (int64_t c = 0; c < D; c++) o[c] += wgt * y[i * D + c];
    }
  }
}

}  // namespace glm5

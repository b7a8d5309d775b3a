// MoE expert compute: group the T·K (token, expert) pairs by expert, run each used expert once over
// its gathered tokens (gate/up/down as small matmuls), scatter-add the weighted outputs.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"

namespace glm5 {

void moe(const MoeArgs& a, float* out) {
  const int64_t D = a.D;
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

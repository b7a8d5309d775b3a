#include "panel.h"
#include <algorithm>
#include <cmath>
#include "simd/convert.h"

namespace glm5 {

void fillPanel(const float* x, int64_t ldx, const int64_t* idx, int64_t n, int64_t TP, int64_t k0, int64_t k1, float* dst) {
  constexpr int64_t KB = 16;  // one cache line of each source row per pass
  for (int64_t kb = k0; kb < k1; kb += KB) {
    const int64_t ke = std::min(k1, kb + KB);
    for (int64_t i = 0; i < n; i++) {
      const float* src = x + (idx ? idx[i] : i) * ldx;
      for (int64_t k = kb; k < ke; k++) dst[k * TP + i] = src[k];
    }
    for (int64_t k = kb; k < ke; k++) std::fill(dst + k * TP + n, dst + (k + 1) * TP, 0.f);
  }
}

void roundPanelQ8(float* P, int64_t K, int64_t n, int64_t TP) {
  for (int64_t k0 = 0; k0 < K; k0 += INT4_GROUP) {
    const int64_t k1 = std::min(K, k0 + INT4_GROUP);
    for (int64_t i = 0; i < n; i++) {
      float amax = 0.f;
      for (int64_t k = k0; k < k1; k++) amax = std::max(amax, std::fabs(P[k * TP + i]));
      const float d = amax / 127.0f, id = d > 0.f ? 1.0f / d : 0.f;
      for (int64_t k = k0; k < k1; k++) P[k * TP + i] = float(q8Round(P[k * TP + i] * id)) * d;
    }
  }
}

}  // namespace glm5

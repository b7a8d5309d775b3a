#include "panel.h"
#include <algorithm>

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

}  // namespace glm5

// Rotary embedding in place, both pair layouts. Angles exactly as the reference (HF): inv_freq and
// p·inv_freq rounded to f32, cos/sin of the f32 angle rounded to f32; the rotation itself in f64.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"
#include "pool.h"

namespace glm5 {

void rope(const RopeArgs& a) {
  const int64_t half = a.dim / 2;
  std::vector<float> inv(half);
  for (int64_t i = 0; i < half; i++) {
    const float e = float(double(2 * i) / double(a.dim));
    const float p = float(std::pow(a.theta, double(e)));
    inv[i] = float(1.0 / double(p));
  }
  const int64_t per = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, a.heads * a.dim));
  parallelFor((a.T + per - 1) / per, [&](int64_t task, int) {
    std::vector<float> cs(half), sn(half);
    for (int64_t t = task * per; t < std::min(a.T, (task + 1) * per); t++) {
      const double pos = a.positions[t];
      for (int64_t i = 0; i < half; i++) {
        const float ang = float(pos * double(inv[i]));
        ::sincosf(ang, &sn[i], &cs[i]);  // within 1 ulp of the f32-rounded f64 cos / sin
      }
      const float* c = cs.data();
      const float* sv = sn.data();
      for (int64_t h = 0; h < a.heads; h++) {
        float* o = a.x + t * a.rowStride + a.offset + h * a.headStride;
        if (a.interleaved) {
          for (int64_t i = 0; i < half; i++) {
            const float x0 = o[2 * i], x1 = o[2 * i + 1];
            o[2 * i] = x0 * c[i] - x1 * sv[i];
            o[2 * i + 1] = x1 * c[i] + x0 * sv[i];
          }
        } else {
          float* __restrict p0 = o;
          float* __restrict p1 = o + half;
          for (int64_t i = 0; i < half; i++) {
            const float x0 = p0[i], x1 = p1[i];
            p0[i] = x0 * c[i] - x1 * sv[i];
            p1[i] = x1 * c[i] + x0 * sv[i];
          }
        }
      }
    }
  });
}

}  // namespace glm5

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
    std::vector<double> cs(half), sn(half);
    for (int64_t t = task * per; t < std::min(a.T, (task + 1) * per); t++) {
      const double pos = a.positions[t];
      for (int64_t i = 0; i < half; i++) {
        const float ang = float(pos * double(inv[i]));
        cs[i] = double(float(std::cos(double(ang))));
        sn[i] = double(float(std::sin(double(ang))));
      }
      for (int64_t h = 0; h < a.heads; h++) {
        float* o = a.x + t * a.rowStride + a.offset + h * a.headStride;
        for (int64_t i = 0; i < half; i++) {
          float* p0 = a.interleaved ? o + 2 * i : o + i;
          float* p1 = a.interleaved ? o + 2 * i + 1 : o + i + half;
          const double x0 = *p0, x1 = *p1;
          *p0 = float(x0 * cs[i] - x1 * sn[i]);
          *p1 = float(x1 * cs[i] + x0 * sn[i]);
        }
      }
    }
  });
}

}  // namespace glm5

// RMSNorm and LayerNorm. Statistics in f64 in the reference's order, so results match it bit for bit
// up to the final f32 rounding; rows run in parallel when there are many.
#include <algorithm>
#include <cmath>
#include "ops.h"
#include "pool.h"

namespace glm5 {

static void rowsParallel(int64_t T, int64_t D, const std::function<void(int64_t)>& row) {
  const int64_t per = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1));  // rows per task
  parallelFor((T + per - 1) / per, [&](int64_t i, int) {
    for (int64_t t = i * per; t < std::min(T, (i + 1) * per); t++) row(t);
  });
}

void rmsNorm(const float* x, int64_t T, int64_t D, const float* w, double eps, float* y) {
  const Kernels& k = K();
  rowsParallel(T, D, [&](int64_t t) { k.rmsRow(x + t * D, w, D, eps, y + t * D); });
}

void layerNorm(const float* x, int64_t T, int64_t D, const float* w, const float* b, double eps, float* y) {
  rowsParallel(T, D, [&](int64_t t) {
    const float* xr = x + t * D;
    float* yr = y + t * D;
    double mean = 0;
    for (int64_t i = 0; i < D; i++) mean += xr[i];
    mean /= double(D);
    double v = 0;
    for (int64_t i = 0; i < D; i++) v += (xr[i] - mean) * (xr[i] - mean);
    const double inv = 1 / std::sqrt(v / double(D) + eps);
    for (int64_t i = 0; i < D; i++) yr[i] = float((xr[i] - mean) * inv * w[i] + b[i]);
  });
}

}  // namespace glm5

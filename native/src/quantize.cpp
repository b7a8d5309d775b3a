// Load-time int4 quantisation (`--quantize int4`): the algorithm of src/tensor/int4.ts repeated step for step in
// f64, so the packed bytes and scales are bit-identical to the reference; rows in parallel over the pool.
// Compiled without ISA flags (no FMA contraction: every product here is exact or rounded as in JavaScript).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include "ops.h"
#include "pool.h"
#include "simd/convert.h"

namespace glm5 {

// f32 → f16 bits, round to nearest even (src/tensor/dtype.ts f32ToF16).
static uint16_t f32ToF16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000u, exp = (u >> 23) & 0xffu;
  uint32_t mant = u & 0x7fffffu;
  if (exp == 0xff) return uint16_t(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int e = int(exp) - 127 + 15;
  if (e >= 31) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return uint16_t(sign | half);
  }
  uint32_t half = (uint32_t(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++;
  return uint16_t(sign | half);
}

// Math.floor-then-compare of int4.ts; |x| stays far below 2^63 here, so the integer conversion is exact
// (and avoids a libm call per element: the search rounds 19·32 values per group).
// Inputs beyond ±16 round past the clamp either way, so they are clamped first (and NaN counts as 0, as
// `q & 15` makes it in int4.ts).
static double roundHalfUp(double x) {
  if (!(x == x)) return 0;
  x = x < -16 ? -16 : x > 16 ? 16 : x;
  double f = double(int64_t(x));
  if (f > x) f -= 1;
  return x - f >= 0.5 ? f + 1 : f;
}
static double clampQ(double q) { return q < -8 ? -8 : q > 7 ? 7 : q; }

// int4GroupScale of int4.ts.
static uint16_t groupScale(const float* v, int64_t n) {
  double mx = 0, amax = 0;
  for (int64_t c = 0; c < n; c++) {
    const double a = std::fabs(double(v[c]));
    if (a > amax) amax = a, mx = v[c];
  }
  if (amax == 0) return 0;
  double best = -1, bd = 0;
  for (int s = -9; s <= 9; s++) {
    const double is = (-8 + 0.1 * s) / mx;
    double sxq = 0, sqq = 0;
    for (int64_t c = 0; c < n; c++) {
      const double q = clampQ(roundHalfUp(double(v[c]) * is));
      sxq += double(v[c]) * q;
      sqq += q * q;
    }
    if (sqq > 0 && (sxq * sxq) / sqq > best) best = (sxq * sxq) / sqq, bd = sxq / sqq;
  }
  const uint16_t h = f32ToF16Bits(float(bd));
  return (h & 0x7fff) >= 0x7c00 ? uint16_t((h & 0x8000) | 0x7bff) : h;
}

void quantizeInt4(const WeightRef& w, uint8_t* data, uint16_t* scales) {
  const int64_t cols = w.cols, G = (cols + INT4_GROUP - 1) / INT4_GROUP;
  const int64_t rb = (cols + INT4_BLOCK - 1) / INT4_BLOCK * (INT4_BLOCK / 2);
  const int64_t chunk = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, cols));
  parallelFor((w.rows + chunk - 1) / chunk, [&](int64_t task, int) {
    std::vector<float> v(static_cast<size_t>(cols));
    for (int64_t r = task * chunk; r < std::min(w.rows, (task + 1) * chunk); r++) {
      for (int64_t c = 0; c < cols; c++) v[c] = dequantElem(w, r, c);
      uint8_t* out = data + r * rb;
      std::memset(out, 0, size_t(rb));
      for (int64_t g = 0; g < G; g++) {
        const int64_t c0 = g * INT4_GROUP, c1 = std::min(cols, c0 + INT4_GROUP);
        const uint16_t h = groupScale(v.data() + c0, c1 - c0);
        scales[r * G + g] = h;
        const double d = f16ToF32(h);
        if (d == 0) continue;
        const double inv = 1 / d;
        for (int64_t c = c0; c < c1; c++) {
          const int q = int(clampQ(roundHalfUp(double(v[c]) * inv)));
          const int64_t i = c & 63, k = i >> 3;
          out[(c >> 6) * 32 + 4 * (i & 7) + (k >> 1)] |= uint8_t((q & 15) << ((k & 1) * 4));
        }
      }
    }
  });
}

}  // namespace glm5

// Load-time int4 quantisation (`--quantize int4`): the algorithm of src/tensor/int4.ts repeated step for step in
// f64, so the packed bytes and scales are bit-identical to the reference; rows in parallel over the pool.
// Compiled without ISA flags beyond x86-64's SSE2 (no FMA contraction: every product here is exact or rounded as
// in JavaScript).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
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
// clampQ(roundHalfUp(x)) of int4.ts. Inputs beyond ±16 round past the clamp either way, so they are clamped first
// and the integer conversion is exact.
static inline double q4Round(double x) {
  x = x < -16 ? -16 : x > 16 ? 16 : x;
  double f = double(int64_t(x));
  if (f > x) f -= 1;
  if (x - f >= 0.5) f += 1;
  return f < -8 ? -8 : f > 7 ? 7 : f;
}

#if defined(__SSE2__)
// Two candidates at once, lane by lane the same IEEE operations as q4Round (branch-free: the rounding is data
// dependent, and a branch per element mispredicted half the time — 4.8 M weights/s per core before).
static inline __m128d q4Round2(__m128d x) {
  const __m128d one = _mm_set1_pd(1.0);
  x = _mm_min_pd(_mm_max_pd(x, _mm_set1_pd(-16.0)), _mm_set1_pd(16.0));
  __m128d f = _mm_cvtepi32_pd(_mm_cvttpd_epi32(x));
  f = _mm_sub_pd(f, _mm_and_pd(_mm_cmpgt_pd(f, x), one));
  f = _mm_add_pd(f, _mm_and_pd(_mm_cmpge_pd(_mm_sub_pd(x, f), _mm_set1_pd(0.5)), one));
  return _mm_min_pd(_mm_max_pd(f, _mm_set1_pd(-8.0)), _mm_set1_pd(7.0));
}
#endif

// int4GroupScale of int4.ts: the 19 candidates' sums, each in the reference's order (so the results are the same),
// the candidates side by side (two per SSE2 register, five registers of them per pass over the group).
static uint16_t groupScale(const float* v, int64_t n) {
  double mx = 0, amax = 0;
  for (int64_t c = 0; c < n; c++) {
    const double a = std::fabs(double(v[c]));
    if (a > amax) amax = a, mx = v[c];
    if (a != a) return 0;  // NaN: the reference's sums are all NaN, no candidate wins
  }
  if (amax == 0) return 0;
  constexpr int NC = 19, PP = 4, NP = 24;  // candidates; pairs per pass (accumulators stay in registers); padded
  alignas(16) double sxq[NP] = {}, sqq[NP] = {}, is[NP];
  for (int i = 0; i < NP; i++) is[i] = (-8 + 0.1 * (i < NC ? i - 9 : 0)) / mx;
#if defined(__SSE2__)
  for (int p0 = 0; p0 < NP; p0 += 2 * PP) {
    __m128d ax[PP], aq[PP];
    for (int j = 0; j < PP; j++) ax[j] = aq[j] = _mm_setzero_pd();
    for (int64_t c = 0; c < n; c++) {
      const __m128d x = _mm_set1_pd(double(v[c]));
      for (int j = 0; j < PP; j++) {
        const __m128d q = q4Round2(_mm_mul_pd(x, _mm_load_pd(is + p0 + 2 * j)));
        ax[j] = _mm_add_pd(ax[j], _mm_mul_pd(x, q));
        aq[j] = _mm_add_pd(aq[j], _mm_mul_pd(q, q));
      }
    }
    for (int j = 0; j < PP; j++) _mm_store_pd(sxq + p0 + 2 * j, ax[j]), _mm_store_pd(sqq + p0 + 2 * j, aq[j]);
  }
#else
  for (int i = 0; i < NC; i++)
    for (int64_t c = 0; c < n; c++) {
      const double q = q4Round(double(v[c]) * is[i]);
      sxq[i] += double(v[c]) * q;
      sqq[i] += q * q;
    }
#endif
  double best = -1, bd = 0;
  for (int i = 0; i < NC; i++)
    if (sqq[i] > 0 && (sxq[i] * sxq[i]) / sqq[i] > best) best = (sxq[i] * sxq[i]) / sqq[i], bd = sxq[i] / sqq[i];
  const uint16_t h = f32ToF16Bits(float(bd));
  return (h & 0x7fff) >= 0x7c00 ? uint16_t((h & 0x8000) | 0x7bff) : h;
}

// Row r as f32, exactly dequantElem's values (a loop per format instead of a switch per element).
static void rowValues(const WeightRef& w, int64_t r, float* v) {
  const uint8_t* p = w.data + r * w.rowBytes();
  switch (w.fmt) {
    case Fmt::F32: for (int64_t c = 0; c < w.cols; c++) v[c] = rdF32(p + 4 * c); return;
    case Fmt::BF16: for (int64_t c = 0; c < w.cols; c++) v[c] = bf16ToF32(rdU16(p + 2 * c)); return;
    case Fmt::F16: for (int64_t c = 0; c < w.cols; c++) v[c] = f16ToF32(rdU16(p + 2 * c)); return;
    default: for (int64_t c = 0; c < w.cols; c++) v[c] = dequantElem(w, r, c); return;
  }
}

void quantizeInt4(const WeightRef& w, uint8_t* data, uint16_t* scales) {
  const int64_t cols = w.cols, G = (cols + INT4_GROUP - 1) / INT4_GROUP;
  const int64_t rb = (cols + INT4_BLOCK - 1) / INT4_BLOCK * (INT4_BLOCK / 2);
  const int64_t chunk = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, cols));
  parallelFor((w.rows + chunk - 1) / chunk, [&](int64_t task, int) {
    std::vector<float> v(static_cast<size_t>(cols));
    for (int64_t r = task * chunk; r < std::min(w.rows, (task + 1) * chunk); r++) {
      rowValues(w, r, v.data());
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
#if defined(__SSE2__)
          const int q = int(_mm_cvtsd_f64(q4Round2(_mm_set1_pd(double(v[c]) * inv))));
#else
          const int q = int(q4Round(double(v[c]) * inv));
#endif
          const int64_t i = c & 63, k = i >> 3;
          out[(c >> 6) * 32 + 4 * (i & 7) + (k >> 1)] |= uint8_t((q & 15) << ((k & 1) * 4));
        }
      }
    }
  });
}

}  // namespace glm5

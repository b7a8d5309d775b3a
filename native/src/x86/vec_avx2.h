// SIMD vocabulary, AVX2 + FMA + F16C (8 floats). Include only from files built with those flags.
#pragma once
#include <immintrin.h>
#include "../simd/convert.h"
#include "q4dot_avx2.h"

namespace glm5 {

struct VecAvx2 {
  using V = __m256;
  static constexpr int VL = 8;
  static constexpr int MR = 3;
  static constexpr int PNV = 2;  // gemmPanel: lane vectors of tokens per panel
  static constexpr int64_t PKC = 256;  // gemmPanel: k per block (PKC x panel width stays in L1)
  static constexpr int NT = 2;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float a) { return _mm256_set1_ps(a); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void prefetch(const void* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static constexpr int ACC = 12;  // accumulator registers for broadcast x lane-vector micro-kernels
  // a < b ? x : y (per lane)
  static V selLt(V a, V b, V x, V y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 128] (128 → inf)
  static V pow2i(V n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static float hmax(V a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Lane i of the result = sum of all lanes of a[i], for i < 8.
  __attribute__((always_inline)) static V reduceVL(const V* a) {
    V t[4], u[2];
    for (int i = 0; i < 4; i++) t[i] = _mm256_add_ps(_mm256_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm256_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 2; i++) {
      const __m256d x = _mm256_castps_pd(t[2 * i]), y = _mm256_castps_pd(t[2 * i + 1]);
      u[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(x, y)), _mm256_castpd_ps(_mm256_unpackhi_pd(x, y)));
    }
    return _mm256_add_ps(_mm256_permute2f128_ps(u[0], u[1], 0x20), _mm256_permute2f128_ps(u[0], u[1], 0x31));
  }
  static float hsum(V a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // int4: the 64 weights of one packed block (kernels.h) as 8 vectors q·2^28 — nibble k of the 8 dwords holds
  // weights 8k..8k+7; shifting it to the top bits and masking leaves the signed value times 2^28 (exact).
  static constexpr float Q4INV = 1.0f / 268435456.0f;
  __attribute__((always_inline)) static void q4dec(const uint8_t* p, V* out) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), m = _mm256_set1_epi32(int(0xF0000000u));
    out[0] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 28), m));
    out[1] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 24), m));
    out[2] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 20), m));
    out[3] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 16), m));
    out[4] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 12), m));
    out[5] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 8), m));
    out[6] = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_slli_epi32(v, 4), m));
    out[7] = _mm256_cvtepi32_ps(_mm256_and_si256(v, m));
  }
  // int4 decode: a row's blocks against prepared activations (q4dot_avx2.h).
  static float q4dotRow(const uint8_t* p, const int8_t* xq, const int32_t* xc, const float* sc, int64_t n) {
    return q4dotRowAvx2(p, xq, xc, sc, n);
  }
  static void prepQ8(const float* x, int64_t cols, int8_t* xq, int32_t* xc, float* dx) { q4PrepQ8Avx2(x, cols, xq, xc, dx); }
  // out[i] = f16 h[i] · mul for i < n.
  static void h2f(const uint16_t* h, int64_t n, float mul, float* out) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))), _mm256_set1_ps(mul)));
    for (; i < n; i++) out[i] = _cvtsh_ss(h[i]) * mul;
  }
  template <Fmt F> static V ld(const uint8_t* p) {
    if constexpr (F == Fmt::F32) {
      return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
    } else if constexpr (F == Fmt::BF16) {
      __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
    } else if constexpr (F == Fmt::F16) {
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    } else if constexpr (F == Fmt::FP8) {
      // e4m3 → f16 bit pattern (value / 256): sign-extend the byte, shift exponent+mantissa into place
      // (the sign lands on bits 14 and 15), clear bit 14.
      __m128i b = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
      return _mm256_cvtph_ps(_mm_and_si128(_mm_slli_epi16(b, 7), _mm_set1_epi16(int16_t(0xbf80))));
    } else {
      return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
  }
};

}  // namespace glm5

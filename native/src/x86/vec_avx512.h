// SIMD vocabulary, AVX-512 F/BW/VL/DQ (16 floats). Include only from files built with those flags.
#pragma once
#include <immintrin.h>
#include "../simd/convert.h"
#include "q4dot_avx2.h"

namespace glm5 {

struct VecAvx512 {
  using V = __m512;
  static constexpr int VL = 16;
  static constexpr int MR = 6;
  static constexpr int PNV = 4;  // gemmPanel: lane vectors of tokens per panel
  static constexpr int64_t PKC = 128;  // gemmPanel: k per block (PKC x panel width stays in L1)
  static constexpr int NT = 2;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float a) { return _mm512_set1_ps(a); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void prefetch(const void* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static constexpr int ACC = 24;  // accumulator registers for broadcast x lane-vector micro-kernels
  // a < b ? x : y (per lane)
  static V selLt(V a, V b, V x, V y) { return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x); }
  static V round(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 128] (128 → inf)
  static V pow2i(V n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  static float hmax(V a) { return _mm512_reduce_max_ps(a); }
  // Lane i of the result = sum of all lanes of a[i], for i < 16 (a transposing reduction: 48 shuffles and adds
  // for 16 sums, against ~8 operations per separate hsum).
  __attribute__((always_inline)) static V reduceVL(const V* a) {
    V t[8], u[4];
    for (int i = 0; i < 8; i++) t[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
      const __m512d x = _mm512_castps_pd(t[2 * i]), y = _mm512_castps_pd(t[2 * i + 1]);
      u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    // u[i]'s 128-bit chunk c holds chunk c's partial sums of a[4i .. 4i+3].
    const V w01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
    const V w23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w01, w23, 0x88), _mm512_shuffle_f32x4(w01, w23, 0xDD));
  }
  static float hsum(V a) {
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // int4: the 64 weights of one packed block (kernels.h) as 4 vectors q·2^28. The block's 8 dwords fill both
  // halves; nibble 2k' (lanes 0-7) and 2k'+1 (lanes 8-15) are weights 16k'..16k'+15, each shifted to the top
  // bits and masked (the signed value times 2^28, exact).
  static constexpr float Q4INV = 1.0f / 268435456.0f;
  __attribute__((always_inline)) static void q4dec(const uint8_t* p, V* out) {
    const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __m512i m = _mm512_set1_epi32(int(0xF0000000u));
    for (int k = 0; k < 4; k++) {
      const __m512i cnt = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(28 - 8 * k)), _mm256_set1_epi32(24 - 8 * k), 1);
      out[k] = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_sllv_epi32(v, cnt), m));
    }
  }
  // int4 decode: a row's blocks against prepared activations, with the AVX2 kernel (q4dot_avx2.h): decode is
  // bound by memory bandwidth there already.
  static float q4dotRow(const uint8_t* p, const int8_t* xq, const int32_t* xc, const float* sc, int64_t n) {
    return q4dotRowAvx2(p, xq, xc, sc, n);
  }
  static void prepQ8(const float* x, int64_t cols, int8_t* xq, int32_t* xc, float* dx) { q4PrepQ8Avx2(x, cols, xq, xc, dx); }
  // out[i] = f16 h[i] · mul for i < n.
  static void h2f(const uint16_t* h, int64_t n, float mul, float* out) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + i))), _mm512_set1_ps(mul)));
    for (; i < n; i++) out[i] = _cvtsh_ss(h[i]) * mul;
  }
  template <Fmt F> static V ld(const uint8_t* p) {
    if constexpr (F == Fmt::F32) {
      return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
    } else if constexpr (F == Fmt::BF16) {
      __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
      return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
    } else if constexpr (F == Fmt::F16) {
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    } else if constexpr (F == Fmt::FP8) {
      __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      return _mm512_cvtph_ps(_mm256_and_si256(_mm256_slli_epi16(b, 7), _mm256_set1_epi16(int16_t(0xbf80))));
    } else {
      return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
  }
};

}  // namespace glm5

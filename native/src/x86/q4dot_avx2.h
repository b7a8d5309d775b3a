// int4 decode dot product with 256-bit integer ops (AVX2; the AVX-512 table uses it as well): one row against
// activations rounded and laid out by Q4::prepQ8 (simd/q4_impl.h). Include only from files built with -mavx2 -mfma.
#pragma once
#include <immintrin.h>
#include <cstdint>
#include "../simd/convert.h"

namespace glm5 {

// Σ over blocks [0, n) of a packed int4 row p: per block, the bytes XORed with 0x88 hold u = q + 8 in both nibbles;
// u·qx is summed by byte multiply-adds (≤ 2·15·127 per 16-bit lane, twice: no saturation) and 16 → 32-bit adds that
// keep the block's two groups apart (byte 4j + m belongs to the first group for m < 2), minus 8·Σqx, exactly; then
// each group's int32 sums times its scale sc[2b] / sc[2b + 1] (d·dx) in f32.
static inline float q4dotRowAvx2(const uint8_t* p, const int8_t* xq, const int32_t* xc, const float* sc, int64_t n) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), flip = _mm256_set1_epi8(int8_t(0x88));
  const __m256i selA = _mm256_set1_epi32(1), selB = _mm256_set1_epi32(0x10000);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (int64_t b = 0; b < n; b++) {
    if (!(b & 1)) _mm_prefetch(reinterpret_cast<const char*>(p + 32 * b + 8192), _MM_HINT_T0);
    const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * b)), flip);
    const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 64 * b))),
                                       _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 64 * b + 32))));
    const __m256i a = _mm256_sub_epi32(_mm256_madd_epi16(s, selA), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xc + 16 * b)));
    const __m256i c = _mm256_sub_epi32(_mm256_madd_epi16(s, selB), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xc + 16 * b + 8)));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), _mm256_broadcast_ss(sc + 2 * b), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), _mm256_broadcast_ss(sc + 2 * b + 1), acc1);
  }
  const __m256 t = _mm256_add_ps(acc0, acc1);
  __m128 r = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// q4PrepQ8Generic (simd/convert.h) for whole 64-column blocks with 8-lane f32 ops (the same operations, so the same
// bytes), the tail by the generic code. Per element the branch-free rounding half away from zero, and the bytes
// placed by shifts: the lanes of the four vectors holding columns 16m + 8h + j (m = 0..3) become the bytes 4j + m of
// the half h.
static inline void q4PrepQ8Avx2(const float* x, int64_t cols, int8_t* xq, int32_t* xc, float* dx) {
  const int64_t full = cols / INT4_BLOCK;
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), signMask = _mm256_castsi256_ps(_mm256_set1_epi32(int(0x80000000u)));
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), lim = _mm256_set1_ps(127.0f), nlim = _mm256_set1_ps(-127.0f);
  const __m256i byte = _mm256_set1_epi32(0xff);
  for (int64_t b = 0; b < full; b++) {
    __m256 v[8];
    __m256i q[8];
    for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(x + INT4_BLOCK * b + 8 * i);
    int32_t sums[2];
    for (int g = 0; g < 2; g++) {
      const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[4 * g], absMask), _mm256_and_ps(v[4 * g + 1], absMask)),
                                     _mm256_max_ps(_mm256_and_ps(v[4 * g + 2], absMask), _mm256_and_ps(v[4 * g + 3], absMask)));
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_movehdup_ps(h));
      const float d = _mm_cvtss_f32(h) / 127.0f, id = d > 0.f ? 1.0f / d : 0.f;
      dx[2 * b + g] = d;
      const __m256 idv = _mm256_set1_ps(id);
      __m256i s = _mm256_setzero_si256();
      for (int i = 4 * g; i < 4 * g + 4; i++) {
        const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v[i], idv), nlim), lim);
        const __m256 tr = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        const __m256 up = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(t, tr), absMask), half, _CMP_GE_OQ);
        const __m256 r = _mm256_add_ps(tr, _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(t, signMask), one)));
        q[i] = _mm256_cvttps_epi32(r);
        s = _mm256_add_epi32(s, q[i]);
      }
      __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
      t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
      sums[g] = _mm_cvtsi128_si32(t);
    }
    for (int h = 0; h < 2; h++) {
      const __m256i r = _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(q[h], byte), _mm256_slli_epi32(_mm256_and_si256(q[2 + h], byte), 8)),
                                        _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(q[4 + h], byte), 16), _mm256_slli_epi32(q[6 + h], 24)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + INT4_BLOCK * b + 32 * h), r);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xc + 16 * b), _mm256_setr_epi32(8 * sums[0], 0, 0, 0, 0, 0, 0, 0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xc + 16 * b + 8), _mm256_setr_epi32(8 * sums[1], 0, 0, 0, 0, 0, 0, 0));
  }
  if (full * INT4_BLOCK < cols) q4PrepQ8Generic(x, cols, xq, xc, dx, full * INT4_BLOCK);
}

}  // namespace glm5

// int4 decode dot product with 256-bit integer ops (AVX2; the AVX-512 table uses it as well): one row against
// activations rounded and laid out by Q4::prepQ8 (simd/q4_impl.h). Include only from files built with -mavx2 -mfma.
#pragma once
#include <immintrin.h>
#include <cstdint>

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

}  // namespace glm5

// Scalar element conversions shared by every ISA (tails, gathers, the generic path). Exact.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "../kernels.h"

namespace glm5 {

// Helpers here are `static` on purpose: ISA translation units include this file with AVX flags, and an
// inline function with external linkage could be merged with the AVX-compiled copy and then run on a
// CPU without AVX (SIGILL).
static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline void fillz(float* p, float* e) { for (; p < e; p++) *p = 0.f; }

static inline float bitsToF32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint16_t rdU16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
static inline float rdF32(const uint8_t* p) { float v; std::memcpy(&v, p, 4); return v; }

static inline float bf16ToF32(uint16_t h) { return bitsToF32(uint32_t(h) << 16); }

static inline float f16ToF32(uint16_t h) {
  uint32_t s = uint32_t(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) {
    if (m == 0) return bitsToF32(s);
    // Subnormal: m · 2^-24, exact in f32.
    float v = float(m) * 5.9604644775390625e-8f;
    return s ? -v : v;
  }
  if (e == 31) return bitsToF32(s | 0x7f800000u | (m << 13));
  return bitsToF32(s | ((e + 112) << 23) | (m << 13));
}

// e4m3fn byte → value / 256 (the SIMD paths decode through f16, which yields value·2^-8; the block
// scale is multiplied by 256 to compensate, so products are exact either way).
static inline float fp8ToF32Div256(uint8_t b) {
  uint16_t h = uint16_t(((b & 0x7f) << 7) | ((b & 0x80) << 8));
  return f16ToF32(h);
}
static inline float fp8ToF32(uint8_t b) {
  if ((b & 0x7f) == 0x7f) return bitsToF32(0x7fc00000u);
  return fp8ToF32Div256(b) * 256.0f;
}

// int4: the signed 4-bit value of column c of a packed row starting at p (layout in kernels.h).
static inline int q4At(const uint8_t* p, int64_t c) {
  const int64_t i = c & 63, k = i >> 3;
  const int v = (p[(c >> 6) * 32 + 4 * (i & 7) + (k >> 1)] >> ((k & 1) * 4)) & 15;
  return v >= 8 ? v - 16 : v;
}

// An activation times 1/d rounded half away from zero to [−127, 127] (int4.ts quantizeQ8; NaN → 0).
static inline int q8Round(float v) {
  if (!(v == v)) return 0;
  v = v < -127.f ? -127.f : v > 127.f ? 127.f : v;
  int t = int(v);
  if (std::fabs(v - float(t)) >= 0.5f) t += v > 0.f ? 1 : -1;
  return t;
}

// The activations of an int4 decode product (int4.ts quantizeQ8), laid out for the q4dotRow kernels, from column
// `from` (a multiple of 64) on. Per 64-column block b: xq[64b, +32) = the values under the block's low nibbles
// (byte 4j + m ↔ column 16m + j), xq[64b + 32, +32) those under the high nibbles (↔ column 16m + 8 + j);
// xc[16b] = 8·Σ qx over the block's first group and xc[16b + 8] over its second, other entries 0 (weights are read
// as u = q + 8: Σ q·qx = Σ u·qx − 8·Σ qx); dx[g] = the group's scale, 0 for a block's missing second group.
static inline void q4PrepQ8Generic(const float* x, int64_t cols, int8_t* xq, int32_t* xc, float* dx, int64_t from = 0) {
  const int64_t nb = (cols + INT4_BLOCK - 1) / INT4_BLOCK, b0 = from / INT4_BLOCK;
  std::memset(xq + b0 * INT4_BLOCK, 0, size_t((nb - b0) * INT4_BLOCK));
  std::memset(xc + b0 * 16, 0, size_t((nb - b0) * 16) * sizeof(int32_t));
  for (int64_t g = 2 * b0; g < 2 * nb; g++) dx[g] = 0.f;
  for (int64_t c0 = from, g = 2 * b0; c0 < cols; c0 += INT4_GROUP, g++) {
    const int64_t c1 = imin(cols, c0 + INT4_GROUP);
    float amax = 0.f;
    for (int64_t c = c0; c < c1; c++) amax = amax > std::fabs(x[c]) ? amax : std::fabs(x[c]);
    const float d = amax / 127.0f, id = d > 0.f ? 1.0f / d : 0.f;
    dx[g] = d;
    int32_t sum = 0;
    for (int64_t c = c0; c < c1; c++) {
      const int q = q8Round(x[c] * id);
      const int64_t i = c & 63;
      xq[(c >> 6) * INT4_BLOCK + ((i >> 3) & 1) * 32 + 4 * (i & 7) + (i >> 4)] = int8_t(q);
      sum += q;
    }
    xc[(g >> 1) * 16 + (g & 1) * 8] = 8 * sum;
  }
}

// Element c of a weight row starting at `p`, unscaled (fp8 as value/256, int8/int4 as the integer).
static inline float rawElem(Fmt f, const uint8_t* p, int64_t c) {
  switch (f) {
    case Fmt::INT4: return float(q4At(p, c));
    case Fmt::F32: return rdF32(p + 4 * c);
    case Fmt::BF16: return bf16ToF32(rdU16(p + 2 * c));
    case Fmt::F16: return f16ToF32(rdU16(p + 2 * c));
    case Fmt::FP8: return fp8ToF32Div256(p[c]);
    case Fmt::INT8: return float(int8_t(p[c]));
  }
  return 0;
}

static inline int64_t elemBytes(Fmt f) { return f == Fmt::F32 ? 4 : (f == Fmt::BF16 || f == Fmt::F16) ? 2 : 1; }

// Scale of W[r, c]'s block as the kernels apply it to rawElem (fp8: block scale · 256).
static inline float blockScale(const WeightRef& w, int64_t r, int64_t c) {
  if (w.fmt == Fmt::INT4) return f16ToF32(w.hscales[r * w.scaleCols() + c / INT4_GROUP]);
  if (w.fmt == Fmt::FP8) return w.scales[((r + w.rowOffset) / w.br) * w.scaleCols() + c / w.bc] * 256.0f;
  if (w.fmt == Fmt::INT8) return w.scales[r * w.scaleCols() + c / INT8_GROUP];
  return 1.0f;
}

// Row r's scales (fp8: its block row; int8: its groups), indexed by column block c / scaleBlock.
static inline const float* scaleRow(const WeightRef& w, int64_t r) {
  if (w.fmt == Fmt::FP8) return w.scales + ((r + w.rowOffset) / w.br) * w.scaleCols();
  if (w.fmt == Fmt::INT8) return w.scales + r * w.scaleCols();
  return nullptr;
}
// The multiplier the kernels apply to rawElem of a block (fp8 decodes as value/256).
static inline float scaleMul(Fmt f) { return f == Fmt::FP8 ? 256.0f : 1.0f; }

// Columns per scale block (all columns for unscaled formats).
static inline int64_t scaleBlock(const WeightRef& w) {
  return w.fmt == Fmt::FP8 ? w.bc : w.fmt == Fmt::INT8 ? INT8_GROUP : w.cols;
}

// Exact dequantised element (the reference's dequantRow): value × scale rounded to f32.
static inline float dequantElem(const WeightRef& w, int64_t r, int64_t c) {
  const uint8_t* row = w.data + r * w.rowBytes();
  if (w.fmt == Fmt::FP8) {
    uint8_t b = row[c];
    if ((b & 0x7f) == 0x7f) return bitsToF32(0x7fc00000u);
  }
  return rawElem(w.fmt, row, c) * blockScale(w, r, c);
}

}  // namespace glm5

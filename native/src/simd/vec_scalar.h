// SIMD vocabulary, generic: a "vector" of one float. Used by generic/kernels_scalar.cpp.
#pragma once
#include "convert.h"

namespace glm5 {

struct VecScalar {
  using V = float;
  static constexpr int VL = 1;
  static constexpr int MR = 2;   // gemm tokens per micro-tile
  static constexpr int PNV = 2;  // gemmPanel: lane vectors of tokens per panel
  static constexpr int64_t PKC = 256;  // gemmPanel: k per block (PKC x panel width stays in L1)
  static constexpr int NT = 4;   // gemmT columns (vectors) per micro-tile
  static V zero() { return 0.f; }
  static V set1(float a) { return a; }
  static V load(const float* p) { return *p; }
  static V loadu8(const uint8_t* p) { return rdF32(p); }
  static void store(float* p, V v) { *p = v; }
  static void prefetch(const void* p) { (void)p; }
  static V add(V a, V b) { return a + b; }
  static V mul(V a, V b) { return a * b; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V min(V a, V b) { return a < b ? a : b; }
  static V sub(V a, V b) { return a - b; }
  static V div(V a, V b) { return a / b; }
  static constexpr int ACC = 8;
  static V selLt(V a, V b, V x, V y) { return a < b ? x : y; }
  static V round(V a) { return __builtin_nearbyintf(a); }
  static V pow2i(V n) { return bitsToF32(uint32_t(int32_t(n) + 127) << 23); }
  static float hmax(V a) { return a; }
  static float hsum(V a) { return a; }
  static V reduceVL(const V* a) { return a[0]; }
  template <Fmt F> static V ld(const uint8_t* p) { return rawElem(F, p, 0); }
  // int4: the 64 weights of one packed block as 64 "vectors" (the signed values).
  static constexpr float Q4INV = 1.0f;
  static void q4dec(const uint8_t* p, V* out) {
    for (int i = 0; i < 64; i++) out[i] = float(q4At(p, i));
  }
  // int4 decode (see x86/q4dot_avx2.h): per block, exact integer sums of u·qx − 8·Σqx per group, times the group's scale.
  static float q4dotRow(const uint8_t* p, const int8_t* xq, const int32_t* xc, const float* sc, int64_t n) {
    float tot = 0.f;
    for (int64_t b = 0; b < n; b++) {
      int32_t sa = -xc[16 * b], sb = -xc[16 * b + 8];
      for (int i = 0; i < 32; i++) {
        const int u = p[32 * b + i] ^ 0x88;
        const int v = (u & 15) * xq[64 * b + i] + (u >> 4) * xq[64 * b + 32 + i];
        if ((i & 3) < 2) sa += v;
        else sb += v;
      }
      tot += float(sa) * sc[2 * b] + float(sb) * sc[2 * b + 1];
    }
    return tot;
  }
  static void prepQ8(const float* x, int64_t cols, int8_t* xq, int32_t* xc, float* dx) { q4PrepQ8Generic(x, cols, xq, xc, dx); }
  static void h2f(const uint16_t* h, int64_t n, float mul, float* out) {
    for (int64_t i = 0; i < n; i++) out[i] = f16ToF32(h[i]) * mul;
  }
};

}  // namespace glm5

// int4 kernels (format in kernels.h / src/tensor/int4.ts), written once over the SIMD vocabulary S like
// kernels_impl.h and called from its format switches.
// Decode (gemv) multiplies bytes: the activations are rounded to 8-bit integers per 32 columns (prepQ8, the
// reference's quantizeQ8) and laid out in the order a block's nibbles lie, so S::q4dotRow sums u·qx exactly in
// int32 (u = q + 8, a byte multiply-add) and applies d·dx once per group — about 18 instructions per 64 weights
// against 45 for decoding to f32, which kept int4 compute-bound at about int8's speed.
// The other products decode weights to f32 in registers (S::q4dec: one 32-byte block → 64/VL vectors of q·2^28,
// shift + mask + convert, no shuffles), each group's scale applied once per 32 columns; panels of int4 products
// hold activations already rounded (roundPanelQ8, by the drivers).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>
#include "convert.h"

namespace glm5 {

template <class S>
struct Q4 {
  using V = typename S::V;
  static constexpr int VL = S::VL;
  static constexpr int NB = int(INT4_BLOCK) / VL;  // vectors per block
  static constexpr int NH = NB / 2;                // vectors per scale group
  static constexpr int64_t AHEAD = 8192;           // prefetch distance, as the other formats' gemv
  static constexpr int64_t SC = 32;                // blocks whose scales are converted together

  static int64_t nBlocks(const WeightRef& w) { return (w.cols + INT4_BLOCK - 1) / INT4_BLOCK; }
  static int64_t nGroups(const WeightRef& w) { return (w.cols + INT4_GROUP - 1) / INT4_GROUP; }

  // The scales of blocks [b0, b0 + n) of row r, two per block, times mul; 0 past the row's last group.
  static void rowScales(const WeightRef& w, int64_t r, int64_t b0, int64_t n, float* out, float mul = S::Q4INV) {
    const int64_t G = nGroups(w), ng = std::min(2 * n, G - 2 * b0);
    S::h2f(w.hscales + r * G + 2 * b0, ng, mul, out);
    for (int64_t i = ng; i < 2 * n; i++) out[i] = 0.f;
  }

  // Block b of row p dequantised (q·d, exact) into out[0, 64).
  __attribute__((always_inline)) static void blockValues(const uint8_t* p, float sa, float sb, float* out) {
    V w[NB];
    S::q4dec(p, w);
    for (int i = 0; i < NB; i++) S::store(out + i * VL, S::mul(w[i], S::set1(i < NH ? sa : sb)));
  }

  // ---- gemv: y[r - r0] = W[r] · x (decode), x rounded per 32 columns (prepQ8) -------------------------------------
  // A row at a time, front to back, each cache line prefetched AHEAD bytes in advance (rows are contiguous, so
  // across row ends too; inside S::q4dotRow); the scale stream (1/8 of the bytes) likewise. Each call rounds x
  // once into thread-local buffers (cols values: ≤ 1% of a task's work at the model's shapes).
  static void gemv(const WeightRef& w, const float* x, float* y, int64_t r0, int64_t r1) {
    const int64_t nb = nBlocks(w), rb = w.rowBytes(), G = nGroups(w);
    thread_local std::vector<int8_t> xqBuf;
    thread_local std::vector<int32_t> xcBuf;
    thread_local std::vector<float> dxBuf;
    if (int64_t(xqBuf.size()) < nb * INT4_BLOCK) xqBuf.resize(size_t(nb * INT4_BLOCK)), xcBuf.resize(size_t(nb * 16)), dxBuf.resize(size_t(nb * 2));
    int8_t* xq = xqBuf.data();
    int32_t* xc = xcBuf.data();
    float* dx = dxBuf.data();
    S::prepQ8(x, w.cols, xq, xc, dx);
    for (int64_t o = 0; o < std::min(AHEAD, (r1 - r0) * rb); o += 64) S::prefetch(w.data + r0 * rb + o);
    alignas(64) float sc[2 * SC], dxt[2 * SC];
    // Short rows (≤ SC blocks, whole groups): the scales of several rows at once — per row, a conversion call and its
    // loop cost as much as the dot product of a 256-column row.
    const int64_t RB = G == 2 * nb && nb <= SC ? SC / nb : 0;
    for (int64_t i = 0; i < RB * G; i++) dxt[i] = dx[i % G];
    for (int64_t r = r0; r < r1 && RB;) {
      const int64_t nr = std::min(RB, r1 - r);
      const uint8_t* hs = reinterpret_cast<const uint8_t*>(w.hscales + r * G);
      S::prefetch(hs + AHEAD / 8);
      S::h2f(w.hscales + r * G, nr * G, 1.0f, sc);
      for (int64_t i = 0; i < nr * G; i++) sc[i] *= dxt[i];
      for (int64_t k = 0; k < nr; k++) y[r + k - r0] = S::q4dotRow(w.data + (r + k) * rb, xq, xc, sc + k * G, nb);
      r += nr;
    }
    for (int64_t r = RB ? r1 : r0; r < r1; r++) {
      const uint8_t* p = w.data + r * rb;
      const uint8_t* hs = reinterpret_cast<const uint8_t*>(w.hscales + r * G);
      float tot = 0.f;
      for (int64_t b0 = 0; b0 < nb; b0 += SC) {
        const int64_t n = std::min(SC, nb - b0);
        S::prefetch(hs + 4 * b0 + AHEAD / 8);
        S::prefetch(hs + 4 * b0 + AHEAD / 8 + 64);
        rowScales(w, r, b0, n, sc, 1.0f);
        for (int64_t i = 0; i < 2 * n; i++) sc[i] *= dx[2 * b0 + i];
        tot += S::q4dotRow(p + 32 * b0, xq + INT4_BLOCK * b0, xc + 16 * b0, sc, n);
      }
      y[r - r0] = tot;
    }
  }

  // ---- gemvT: y[c] = Σ_r x[r] W[r, c] for c in [c0, c1) (drivers hand out 64-column chunks) ----------------
  static void gemvT(const WeightRef& w, const float* x, float* y, int64_t c0, int64_t c1) {
    fillz(y + c0, y + c1);
    if (c0 % INT4_BLOCK) {  // not a block boundary (no driver does this): element by element
      for (int64_t r = 0; r < w.rows; r++)
        for (int64_t c = c0; c < c1; c++) y[c] += x[r] * dequantElem(w, r, c);
      return;
    }
    const int64_t rb = w.rowBytes(), bA = c0 / INT4_BLOCK, bE = (c1 + INT4_BLOCK - 1) / INT4_BLOCK;
    const int64_t ahead = rb * std::max<int64_t>(1, AHEAD / std::max<int64_t>(1, (bE - bA) * 32));  // rows ahead
    alignas(64) float sc[2 * SC], tmp[INT4_BLOCK];
    for (int64_t r = 0; r < w.rows; r++) {
      const uint8_t* p = w.data + r * rb;
      const float xr = x[r];
      for (int64_t b0 = bA; b0 < bE; b0 += SC) {
        const int64_t n = std::min(SC, bE - b0);
        rowScales(w, r, b0, n, sc);
        for (int64_t i = 0; i < n; i++) {
          const int64_t b = b0 + i;
          if (!((b - bA) & 1)) S::prefetch(p + ahead + b * 32);
          float* yb = y + b * INT4_BLOCK;
          if (b * INT4_BLOCK + INT4_BLOCK <= c1) {
            V wv[NB];
            S::q4dec(p + b * 32, wv);
            const V sa = S::set1(xr * sc[2 * i]), sb = S::set1(xr * sc[2 * i + 1]);
            for (int j = 0; j < NB; j++) S::store(yb + j * VL, S::fma(wv[j], j < NH ? sa : sb, S::load(yb + j * VL)));
          } else {
            blockValues(p + b * 32, xr * sc[2 * i], xr * sc[2 * i + 1], tmp);
            for (int64_t c = b * INT4_BLOCK; c < c1; c++) y[c] += tmp[c - b * INT4_BLOCK];
          }
        }
      }
    }
  }

  // ---- gemmPanel's strip: rows r..r+M (rows ≥ nvalid as zeros) x columns [k0, k0 + kc), k0 % 64 == 0 ---------
  static void packStrip(const WeightRef& w, int64_t r, int64_t nvalid, int M, int64_t k0, int64_t kc, int64_t ld, float* buf) {
    const int64_t rb = w.rowBytes(), bA = k0 / INT4_BLOCK, bE = (k0 + kc + INT4_BLOCK - 1) / INT4_BLOCK;
    alignas(64) float sc[2 * SC], tmp[INT4_BLOCK];
    for (int n = 0; n < M; n++) {
      float* dst = buf + n * ld;
      if (n >= nvalid) {
        fillz(dst, dst + kc);
        continue;
      }
      const uint8_t* p = w.data + (r + n) * rb;
      for (int64_t b0 = bA; b0 < bE; b0 += SC) {
        const int64_t cnt = std::min(SC, bE - b0);
        rowScales(w, r + n, b0, cnt, sc);
        for (int64_t i = 0; i < cnt; i++) {
          const int64_t b = b0 + i, off = b * INT4_BLOCK - k0;
          if (off + INT4_BLOCK <= kc) {
            blockValues(p + b * 32, sc[2 * i], sc[2 * i + 1], dst + off);
          } else {
            blockValues(p + b * 32, sc[2 * i], sc[2 * i + 1], tmp);
            std::copy(tmp, tmp + (kc - off), dst + off);
          }
        }
      }
    }
  }

  // ---- gemmT: y[t, c] = Σ_r x[t, r] W[r, c], t in [t0, t1), c in [c0, c1) ------------------------------------
  // Each 64-column block of every row is dequantised into an f32 strip [rows][64] (exact), then the f32 kernel
  // (gemmTF<F32>, passed in) runs over the strip.
  template <class F32Kernel>
  static void gemmT(const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t0, int64_t t1,
                    int64_t c0, int64_t c1, F32Kernel f32) {
    thread_local std::vector<float> stripBuf;
    if (int64_t(stripBuf.size()) < w.rows * INT4_BLOCK) stripBuf.resize(size_t(w.rows * INT4_BLOCK));
    float* strip = stripBuf.data();
    const int64_t rb = w.rowBytes(), G = nGroups(w);
    for (int64_t b = c0 / INT4_BLOCK; b * INT4_BLOCK < c1; b++) {
      const int64_t lo = std::max(c0, b * INT4_BLOCK), hi = std::min(c1, (b + 1) * INT4_BLOCK);
      for (int64_t r = 0; r < w.rows; r++) {
        const uint16_t* h = w.hscales + r * G;
        const float sa = f16ToF32(h[2 * b]) * S::Q4INV, sb = 2 * b + 1 < G ? f16ToF32(h[2 * b + 1]) * S::Q4INV : 0.f;
        blockValues(w.data + r * rb + b * 32, sa, sb, strip + r * INT4_BLOCK);
      }
      WeightRef s{};
      s.fmt = Fmt::F32, s.rows = w.rows, s.cols = INT4_BLOCK, s.data = reinterpret_cast<const uint8_t*>(strip);
      f32(s, x, ldx, y + b * INT4_BLOCK, ldy, t0, t1, lo - b * INT4_BLOCK, hi - b * INT4_BLOCK);
    }
  }
};

}  // namespace glm5

// The kernels, written once over a SIMD vocabulary S (vec_scalar.h, x86/vec_avx2.h, x86/vec_avx512.h)
// and instantiated per ISA in its own translation unit with that ISA's compiler flags.
//
// Weights are converted to f32 in registers (gemv, gemvT, gemmT) or into a small per-thread strip
// (gemmPanel: M rows x PKC columns, reused by every token of a panel), never into a whole-matrix buffer.
// Scaled formats (fp8 blocks, int8 groups) accumulate per scale block and apply the scale once; int4 has
// kernels of its own (q4_impl.h), called from the format switches below.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "convert.h"
#include "q4_impl.h"

namespace glm5 {

template <class S> struct Attn;  // attn_impl.h
template <class S> struct Idx;   // indexer_impl.h

template <class S>
struct Impl {
  using V = typename S::V;
  static constexpr int VL = S::VL;
  static constexpr int MR = S::MR;
  static constexpr int NT = S::NT;

  template <Fmt F> static constexpr int64_t eb() { return F == Fmt::F32 ? 4 : (F == Fmt::BF16 || F == Fmt::F16) ? 2 : 1; }
  template <Fmt F> static constexpr bool scaled() { return F == Fmt::FP8 || F == Fmt::INT8; }
  // Byte offset of column c in a row (int4: two per byte).
  template <Fmt F> static constexpr int64_t colByte(int64_t c) { return F == Fmt::INT4 ? c / 2 : c * eb<F>(); }

  // ---- gemv: y[r - r0] = W[r] · x -------------------------------------------------------------------
  // The row range is one contiguous stretch of W, read front to back: a row at a time (four independent
  // accumulators), never several rows interleaved — interleaved short rows (256-512 columns) streamed at
  // 33-38 GB/s where the same bytes read in order reach 45-53 (docs/native.md). Every cache line is also
  // prefetched GEMV_AHEAD bytes in advance, across row ends, and the first GEMV_AHEAD bytes are requested
  // up front, so the stream runs at full speed from its first row.
  static constexpr int64_t GEMV_AHEAD = 8192;

  template <Fmt F>
  static inline void prefetchLines(const uint8_t* p, int64_t bytes) {
    for (int64_t o = 0; o < bytes; o += 64) S::prefetch(p + o);
  }

  template <Fmt F>
  static float gemvRow(const WeightRef& w, const float* x, const uint8_t* p, const float* sr) {
    const int64_t cols = w.cols, blk = scaleBlock(w);
    constexpr int64_t STEP = 4 * VL, STEP_BYTES = STEP * eb<F>();
    V tot = S::zero();
    float totS = 0.f;
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += blk, b++) {
      const int64_t c1 = imin(c0 + blk, cols);
      V a0 = S::zero(), a1 = S::zero(), a2 = S::zero(), a3 = S::zero();
      int64_t c = c0;
      for (; c + STEP <= c1; c += STEP) {
        prefetchLines<F>(p + c * eb<F>() + GEMV_AHEAD, STEP_BYTES);
        a0 = S::fma(S::template ld<F>(p + c * eb<F>()), S::load(x + c), a0);
        a1 = S::fma(S::template ld<F>(p + (c + VL) * eb<F>()), S::load(x + c + VL), a1);
        a2 = S::fma(S::template ld<F>(p + (c + 2 * VL) * eb<F>()), S::load(x + c + 2 * VL), a2);
        a3 = S::fma(S::template ld<F>(p + (c + 3 * VL) * eb<F>()), S::load(x + c + 3 * VL), a3);
      }
      if (c < c1) prefetchLines<F>(p + c * eb<F>() + GEMV_AHEAD, (c1 - c) * eb<F>());
      for (; c + VL <= c1; c += VL) a0 = S::fma(S::template ld<F>(p + c * eb<F>()), S::load(x + c), a0);
      float tail = 0.f;
      for (; c < c1; c++) tail += rawElem(F, p, c) * x[c];
      const V sum = S::add(S::add(a0, a1), S::add(a2, a3));
      if constexpr (scaled<F>()) {
        const float s = sr[b] * scaleMul(F);
        tot = S::fma(sum, S::set1(s), tot);
        totS += tail * s;
      } else {
        tot = S::add(tot, sum);
        totS += tail;
      }
    }
    return S::hsum(tot) + totS;
  }

  template <Fmt F>
  static void gemvF(const WeightRef& w, const float* x, float* y, int64_t r0, int64_t r1) {
    const int64_t rowBytes = w.cols * eb<F>();
    prefetchLines<F>(w.data + r0 * rowBytes, imin(GEMV_AHEAD, (r1 - r0) * rowBytes));
    for (int64_t r = r0; r < r1; r++) y[r - r0] = gemvRow<F>(w, x, w.data + r * rowBytes, scaleRow(w, r));
  }

  static void gemv(const WeightRef& w, const float* x, float* y, int64_t r0, int64_t r1) {
    switch (w.fmt) {
      case Fmt::F32: return gemvF<Fmt::F32>(w, x, y, r0, r1);
      case Fmt::BF16: return gemvF<Fmt::BF16>(w, x, y, r0, r1);
      case Fmt::F16: return gemvF<Fmt::F16>(w, x, y, r0, r1);
      case Fmt::FP8: return gemvF<Fmt::FP8>(w, x, y, r0, r1);
      case Fmt::INT8: return gemvF<Fmt::INT8>(w, x, y, r0, r1);
      case Fmt::INT4: return Q4<S>::gemv(w, x, y, r0, r1);
    }
  }

  // ---- gemvT: y[c] = Σ_r x[r] W[r, c], c in [c0, c1) -------------------------------------------------
  template <Fmt F, int R>
  static void gemvTRows(const WeightRef& w, const float* x, float* y, int64_t r, int64_t p0, int64_t p1) {
    const int64_t cols = w.cols, blk = scaleBlock(w);
    const uint8_t* p[R];
    const float* sr[R];
    for (int i = 0; i < R; i++) p[i] = w.data + (r + i) * cols * eb<F>(), sr[i] = scaleRow(w, r + i);
    const int64_t rowBytes = cols * eb<F>();
    const int64_t ahead = R * rowBytes * (rowBytes * R >= 8192 ? 1 : (8192 + R * rowBytes - 1) / (R * rowBytes));
    for (int64_t s0 = p0; s0 < p1;) {
      const int64_t s1 = imin(p1, (s0 / blk + 1) * blk);
      float a[R];
      V av[R];
      for (int i = 0; i < R; i++) {
        a[i] = x[r + i];
        if constexpr (scaled<F>()) a[i] *= sr[i][s0 / blk] * scaleMul(F);
        av[i] = S::set1(a[i]);
      }
      int64_t c = s0;
      for (; c + VL <= s1; c += VL) {
        if constexpr (F != Fmt::F32)
          if ((c * eb<F>()) % 64 == 0)  // one prefetch per cache line, ≥ 8 KiB ahead
            for (int i = 0; i < R; i++) S::prefetch(p[i] + ahead + c * eb<F>());
        V acc = S::load(y + c);
        for (int i = 0; i < R; i++) acc = S::fma(S::template ld<F>(p[i] + c * eb<F>()), av[i], acc);
        S::store(y + c, acc);
      }
      for (; c < s1; c++)
        for (int i = 0; i < R; i++) y[c] += rawElem(F, p[i], c) * a[i];
      s0 = s1;
    }
  }

  template <Fmt F>
  static void gemvTF(const WeightRef& w, const float* x, float* y, int64_t c0, int64_t c1) {
    constexpr int64_t PIECE = 1024;  // output columns kept in L1 while all rows stream past (whole rows up to 1024)
    for (int64_t p0 = c0; p0 < c1; p0 += PIECE) {
      const int64_t p1 = imin(p0 + PIECE, c1);
      fillz(y + p0, y + p1);
      int64_t r = 0;
      for (; r + 4 <= w.rows; r += 4) gemvTRows<F, 4>(w, x, y, r, p0, p1);
      for (; r < w.rows; r++) gemvTRows<F, 1>(w, x, y, r, p0, p1);
    }
  }

  static void gemvT(const WeightRef& w, const float* x, float* y, int64_t c0, int64_t c1) {
    switch (w.fmt) {
      case Fmt::F32: return gemvTF<Fmt::F32>(w, x, y, c0, c1);
      case Fmt::BF16: return gemvTF<Fmt::BF16>(w, x, y, c0, c1);
      case Fmt::F16: return gemvTF<Fmt::F16>(w, x, y, c0, c1);
      case Fmt::FP8: return gemvTF<Fmt::FP8>(w, x, y, c0, c1);
      case Fmt::INT8: return gemvTF<Fmt::INT8>(w, x, y, c0, c1);
      case Fmt::INT4: return Q4<S>::gemvT(w, x, y, c0, c1);
    }
  }

  // ---- gemmDot: y(i, r) = x_i · W[r] for a few tokens (rows xr[i]) ----------------------------------------
  // For nt ≤ VL tokens the panel kernel fills one lane vector at best, partly, and broadcasts every weight
  // (one load per FMA). Both operands stay row-major; weights are converted in registers; unscaled formats
  // (f32/bf16/f16) only. The products stream weight rows (rowsNT below).

  // A dot-product micro-tile: NT rows of x x VL/NT rows of W along k, the VL accumulators reduced together
  // (S::reduceVL). The indexer's few-row path (indexer_impl.h) scores keys with it.
  template <Fmt F, int NT>
  __attribute__((always_inline)) static V dotTile(const float* const* xr, const uint8_t* const* wr, int64_t K) {
    constexpr int NR = VL / NT;
    V acc[VL];
    for (int i = 0; i < VL; i++) acc[i] = S::zero();
    int64_t k = 0;
    for (; k + VL <= K; k += VL) {
      V wv[NR];
#pragma GCC unroll 16
      for (int r = 0; r < NR; r++) wv[r] = S::template ld<F>(wr[r] + k * eb<F>());
#pragma GCC unroll 16
      for (int t = 0; t < NT; t++) {
        const V xv = S::load(xr[t] + k);
#pragma GCC unroll 16
        for (int r = 0; r < NR; r++) acc[r * NT + t] = S::fma(wv[r], xv, acc[r * NT + t]);
      }
    }
    V sum = S::reduceVL(acc);
    if (k < K) {
      alignas(64) float tail[VL];
      for (int r = 0; r < NR; r++)
        for (int t = 0; t < NT; t++) {
          float a = 0.f;
          for (int64_t e = k; e < K; e++) a += rawElem(F, wr[r], e) * xr[t][e];
          tail[r * NT + t] = a;
        }
      sum = S::add(sum, S::load(tail));
    }
    return sum;
  }

  // Few tokens against a stretch of rows, one weight row at a time, front to back, prefetched GEMV_AHEAD
  // ahead — the gemv stream, which the hardware follows best (dot tiles over 2-8 interleaved rows stalled on
  // their weight loads: MoE experts at 2 tokens each read 14.5 GB/s against gemv's 19-20). Per row, NT
  // tokens' accumulators (U vectors each along k), summed at the row's end.
  template <Fmt F, int NT>
  static void rowsNT(const WeightRef& w, const float* const* xr, float* y, int64_t yt, int64_t yr, int64_t r0, int64_t r1) {
    constexpr int U = NT == 1 ? 4 : NT == 2 ? 4 : NT <= 4 ? 2 : 1;  // NT·U ≤ 8 accumulators
    const int64_t K = w.cols, rowBytes = K * eb<F>();
    prefetchLines<F>(w.data + r0 * rowBytes, imin(GEMV_AHEAD, (r1 - r0) * rowBytes));
    for (int64_t r = r0; r < r1; r++) {
      const uint8_t* p = w.data + r * rowBytes;
      V acc[NT * U];
#pragma GCC unroll 8
      for (int i = 0; i < NT * U; i++) acc[i] = S::zero();
      int64_t k = 0;
      for (; k + U * VL <= K; k += U * VL) {
        prefetchLines<F>(p + k * eb<F>() + GEMV_AHEAD, U * VL * eb<F>());
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) {
          const V wv = S::template ld<F>(p + (k + u * VL) * eb<F>());
#pragma GCC unroll 8
          for (int t = 0; t < NT; t++) acc[t * U + u] = S::fma(wv, S::load(xr[t] + k + u * VL), acc[t * U + u]);
        }
      }
      for (; k + VL <= K; k += VL) {
        const V wv = S::template ld<F>(p + k * eb<F>());
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) acc[t * U] = S::fma(wv, S::load(xr[t] + k), acc[t * U]);
      }
#pragma GCC unroll 8
      for (int t = 0; t < NT; t++) {
        V a = acc[t * U];
#pragma GCC unroll 4
        for (int u = 1; u < U; u++) a = S::add(a, acc[t * U + u]);
        float tail = 0.f;
        for (int64_t e = k; e < K; e++) tail += rawElem(F, p, e) * xr[t][e];
        y[t * yt + r * yr] = S::hsum(a) + tail;
      }
    }
  }

  template <Fmt F>
  static void gemmDotF(const WeightRef& w, const float* const* xr, int64_t nt, float* y, int64_t yt, int64_t yr, int64_t r0,
                       int64_t r1) {
    // Tokens in groups of ≤ 8; a later group re-reads rows the first left in L2 (row blocks of 64 KiB).
    const int64_t RB = imax(1, (int64_t(64) << 10) / imax(1, w.cols * eb<F>()));
    for (int64_t b0 = r0; b0 < r1; b0 += RB) {
      const int64_t b1 = imin(r1, b0 + RB);
      for (int64_t t0 = 0; t0 < nt; t0 += 8) {
        const float* const* x = xr + t0;
        float* yo = y + t0 * yt;
        switch (imin(8, nt - t0)) {
          case 1: rowsNT<F, 1>(w, x, yo, yt, yr, b0, b1); break;
          case 2: rowsNT<F, 2>(w, x, yo, yt, yr, b0, b1); break;
          case 3: rowsNT<F, 3>(w, x, yo, yt, yr, b0, b1); break;
          case 4: rowsNT<F, 4>(w, x, yo, yt, yr, b0, b1); break;
          case 5: rowsNT<F, 5>(w, x, yo, yt, yr, b0, b1); break;
          case 6: rowsNT<F, 6>(w, x, yo, yt, yr, b0, b1); break;
          case 7: rowsNT<F, 7>(w, x, yo, yt, yr, b0, b1); break;
          default: rowsNT<F, 8>(w, x, yo, yt, yr, b0, b1); break;
        }
      }
    }
  }

  static bool gemmDot(const WeightRef& w, const float* const* xr, int64_t nt, float* y, int64_t yt, int64_t yr, int64_t r0,
                      int64_t r1) {
    switch (w.fmt) {
      case Fmt::F32: return gemmDotF<Fmt::F32>(w, xr, nt, y, yt, yr, r0, r1), true;
      case Fmt::BF16: return gemmDotF<Fmt::BF16>(w, xr, nt, y, yt, yr, r0, r1), true;
      case Fmt::F16: return gemmDotF<Fmt::F16>(w, xr, nt, y, yt, yr, r0, r1), true;
      default: return false;  // scaled formats: the panel kernel
    }
  }

  // ---- gemmPanel: y(t, r) = x_t · W[r] for one token panel x row range ----------------------------------
  // Outer-product form (BLIS style, transposed): the tokens lie across SIMD lanes, so the panel is
  // xp[k][TP] (built once per op by the driver) and each weight element is broadcast. A micro-tile keeps
  // M weight rows x NV lane vectors of tokens in registers; per k it loads NV vectors of the panel and
  // broadcasts M weights: no horizontal sums and no K remainder. Blocking: the panel slice PKC x TP stays
  // in L1 while every row tile of a PRC-row block passes over it; the weights of one row tile are
  // dequantised once per panel into an f32 strip wp [M][kc] (value x scale, exactly the reference's f32);
  // partial sums across k blocks live in acc [PRC][TP], which is written out (in any layout) at the end.
  static constexpr int PNV = S::PNV;
  static constexpr int64_t TP = int64_t(PNV) * VL;
  static constexpr int64_t PKC = S::PKC;
  static constexpr int64_t PSTRIP = 16384;  // floats of converted weights per strip (in L2)
  static constexpr int64_t POUT = 64;       // output rows staged per token before a row-major write
  static constexpr int64_t imaxc(int64_t a, int64_t b) { return a > b ? a : b; }
  static constexpr int MRmax = S::ACC;

  template <Fmt F>
  static void packStrip(const WeightRef& w, int64_t r, int64_t nvalid, int M, int64_t k0, int64_t kc, int64_t ld, float* buf) {
    if constexpr (F == Fmt::INT4) return Q4<S>::packStrip(w, r, nvalid, M, k0, kc, ld, buf);
    const int64_t blk = scaleBlock(w);
    for (int n = 0; n < M; n++) {
      float* dst = buf + n * ld;
      if (n >= nvalid) {
        fillz(dst, dst + kc);
        continue;
      }
      const uint8_t* row = w.data + (r + n) * w.cols * eb<F>();
      const float* sr = scaleRow(w, r + n);
      for (int64_t s0 = k0; s0 < k0 + kc;) {
        const int64_t s1 = imin(k0 + kc, (s0 / blk + 1) * blk);
        const float s = scaled<F>() ? sr[s0 / blk] * scaleMul(F) : 1.f;
        const V sv = S::set1(s);
        int64_t c = s0;
        for (; c + VL <= s1; c += VL) {
          V v = S::template ld<F>(row + c * eb<F>());
          if constexpr (scaled<F>()) v = S::mul(v, sv);
          S::store(dst + (c - k0), v);
        }
        for (; c < s1; c++) dst[c - k0] = scaled<F>() ? rawElem(F, row, c) * s : rawElem(F, row, c);
        s0 = s1;
      }
    }
  }

  // Cache lines to request while a micro-kernel runs, one per one(): the `bytes`-long stretch [end − bytes, end)
  // of a row, then the same stretch of each of `rows` more rows `stride` bytes apart (the next row tile's
  // weights, so that packing it finds them in cache).
  struct Ahead {
    const uint8_t* p;  // the next line
    const uint8_t* end;  // the end of its row's lines
    int64_t stride, bytes;
    int rows;  // rows left after this one
    void one() {
      if (p == end) {
        if (rows == 0) return;
        rows--, end += stride, p = end - bytes;
      }
      S::prefetch(p);
      p += 64;
    }
    void rest() {
      while (p != end || rows > 0) one();
    }
  };

  // wp rows are LDW apart (a compile-time stride: one base register and immediate offsets for all M rows).
  // One line of `ahead` is requested every 4 k: spread over the loop, the next tile's weights arrive while
  // this one computes (requested all at once, they stalled the core on full miss buffers: perf put a third
  // of a 16-token product in packing and its prefetch loop).
  template <int M, int NV, int64_t LDW>
  __attribute__((noinline)) static void microP(const float* wp, int64_t kc, const float* xp, float* acc, bool first, Ahead* ahead) {
    V a[M][NV];  // every loop over m / v is unrolled so that a stays in registers
#pragma GCC unroll 32
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) a[m][v] = first ? S::zero() : S::load(acc + m * TP + v * VL);
    auto step = [&](int64_t k) {
      V xv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) xv[v] = S::load(xp + k * TP + v * VL);
#pragma GCC unroll 32
      for (int m = 0; m < M; m++) {
        const V b = S::set1(wp[m * LDW + k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) a[m][v] = S::fma(b, xv[v], a[m][v]);
      }
    };
    int64_t k = 0;
    if (ahead)
      for (; k + 4 <= kc; k += 4) {
        ahead->one();
        step(k), step(k + 1), step(k + 2), step(k + 3);
      }
#pragma GCC unroll 4
    for (; k < kc; k++) step(k);
#pragma GCC unroll 32
    for (int m = 0; m < M; m++)
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) S::store(acc + m * TP + v * VL, a[m][v]);
  }

  // Panels are consecutive in xp (K x TP floats apart); panel j's outputs go to y + j·yPanel. Each row tile's
  // weights are converted into the strip once and serve every panel of the call (converting them again per
  // panel took 29% of a 512-token product), GROUP panels at a time (their accumulators and staging fit the
  // scratch; the group's panels stream from L2 / L3 while the strip stays in L1).
  static constexpr int64_t GROUP = 16;
  static_assert(PSTRIP + GROUP * MRmax * TP + GROUP * TP * POUT <= GEMM_SCRATCH, "gemmPanel scratch");

  template <Fmt F, int NV>
  static void gemmPanelNV(const WeightRef& w, const float* xp, int64_t nt, int64_t ntOut, float* y, int64_t yt, int64_t yr,
                          int64_t yPanel, int64_t r0, int64_t r1, float* scratch) {
    constexpr int M = MRmax / NV;
    constexpr int64_t KB = imaxc(PKC, (PSTRIP / M) / PKC * PKC);  // k per strip: M x KB floats ≤ PSTRIP
    const int64_t K = w.cols, rowB = w.rowBytes();
    const int64_t np = (imax(nt, ntOut) + TP - 1) / TP;
    float* wp = scratch;                       // [M][KB]
    float* acc = wp + M * KB;                  // [GROUP][M][TP]
    float* stage = acc + GROUP * M * TP;       // [GROUP][TP][POUT]: row-major output of POUT rows, written out at once
    // Row-major outputs (yr == 1) have one row per token, often 4 KiB apart: scattering a tile's few
    // columns there would hit the same L1 set for every token, so POUT rows are staged and copied per token.
    const bool staged = yr == 1;
    for (int64_t g0 = 0; g0 < np; g0 += GROUP) {
      const int64_t ng = imin(GROUP, np - g0);
      auto ntOf = [&](int64_t j) { return imax(int64_t(0), imin(TP, nt - (g0 + j) * TP)); };
      auto ntOutOf = [&](int64_t j) { return imax(int64_t(0), imin(TP, ntOut - (g0 + j) * TP)); };
      for (int64_t rb = r0; rb < r1; rb += POUT) {
        const int64_t re = imin(r1, rb + POUT);
        for (int64_t r = rb; r < re; r += M) {
          const int64_t nr = imin(M, re - r);
          // Rows r..r+M stream in full (prefetch-friendly), converted once; the panels stream from L2.
          for (int64_t k0 = 0; k0 < K; k0 += KB) {
            const int64_t kb = imin(KB, K - k0);
            packStrip<F>(w, r, nr, M, k0, kb, KB, wp);
            // The first call to reach these rows reads them from DRAM: the next strip is requested while
            // this one computes (prefetches never fault; past the last row they are simply wasted).
            const int64_t c0 = colByte<F>(k0) / 64 * 64, lineBytes = (colByte<F>(k0 + kb) - c0 + 63) / 64 * 64;
            const uint8_t* first = w.data + (r + M) * rowB + c0;
            Ahead ahead{first, r + M < r1 ? first + lineBytes : first, rowB, lineBytes, r + M < r1 ? M - 1 : 0};
            for (int64_t j = 0; j < ng; j++)
              microP<M, NV, KB>(wp, kb, xp + (g0 + j) * K * TP + k0 * TP, acc + j * M * TP, k0 == 0, j == 0 ? &ahead : nullptr);
            ahead.rest();
          }
          for (int64_t j = 0; j < ng; j++) {
            const int64_t ntj = ntOf(j), ntOutj = ntOutOf(j);
            for (int64_t i = 0; i < nr; i++) {
              const float* a = acc + (j * M + i) * TP;
              if (staged) {
                float* st = stage + j * TP * POUT + (r - rb) + i;
                for (int64_t t = 0; t < ntj; t++) st[t * POUT] = a[t];
              } else {
                float* yo = y + (g0 + j) * yPanel + (r + i) * yr;
                for (int64_t t = 0; t < ntj; t++) yo[t * yt] = a[t];
                for (int64_t t = ntj; t < ntOutj; t++) yo[t * yt] = 0.f;
              }
            }
          }
        }
        if (staged)
          for (int64_t j = 0; j < ng; j++)
            for (int64_t t = 0; t < ntOutOf(j); t++) {
              float* yo = y + (g0 + j) * yPanel + t * yt;
              const float* st = stage + (j * TP + t) * POUT;
              if (t < ntOf(j)) std::copy(st, st + (re - rb), yo + rb);
              else std::fill(yo + rb, yo + re, 0.f);
            }
      }
    }
  }

  template <Fmt F, int NV>
  static void gemmPanelAny(int nv, const WeightRef& w, const float* xp, int64_t nt, int64_t ntOut, float* y, int64_t yt, int64_t yr,
                           int64_t yPanel, int64_t r0, int64_t r1, float* scratch) {
    if constexpr (NV >= 1) {
      if (nv == NV) return gemmPanelNV<F, NV>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
      gemmPanelAny<F, NV - 1>(nv, w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
    }
  }

  template <Fmt F>
  static void gemmPanelF(const WeightRef& w, const float* xp, int64_t nt, int64_t ntOut, float* y, int64_t yt, int64_t yr, int64_t yPanel,
                         int64_t r0, int64_t r1, float* scratch) {
    if (w.cols == 0) {
      for (int64_t j = 0; j * TP < ntOut; j++)
        for (int64_t r = r0; r < r1; r++)
          for (int64_t t = j * TP; t < imin(ntOut, (j + 1) * TP); t++) y[j * yPanel + (t - j * TP) * yt + r * yr] = 0.f;
      return;
    }
    // One panel: as few lane vectors as its tokens need; several: full panels (a short last one computes padding).
    gemmPanelAny<F, PNV>(nt > TP ? PNV : int((nt + VL - 1) / VL), w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
  }

  static void gemmPanel(const WeightRef& w, const float* xp, int64_t nt, int64_t ntOut, float* y, int64_t yt, int64_t yr, int64_t yPanel,
                        int64_t r0, int64_t r1, float* scratch) {
    switch (w.fmt) {
      case Fmt::F32: return gemmPanelF<Fmt::F32>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
      case Fmt::BF16: return gemmPanelF<Fmt::BF16>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
      case Fmt::F16: return gemmPanelF<Fmt::F16>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
      case Fmt::FP8: return gemmPanelF<Fmt::FP8>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
      case Fmt::INT8: return gemmPanelF<Fmt::INT8>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
      case Fmt::INT4: return gemmPanelF<Fmt::INT4>(w, xp, nt, ntOut, y, yt, yr, yPanel, r0, r1, scratch);
    }
  }

  // ---- gemmT: y[t, c] = Σ_r x[t, r] W[r, c] -------------------------------------------------------------
  // Outer products: NT column vectors of one weight row, converted in registers, times M broadcast tokens.
  template <Fmt F, int M>
  static void kernT(const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t, int64_t c) {
    const int64_t rows = w.rows, cols = w.cols;
    V acc[M][NT];
    for (int m = 0; m < M; m++)
      for (int v = 0; v < NT; v++) acc[m][v] = S::zero();
    for (int64_t r = 0; r < rows; r++) {
      const uint8_t* row = w.data + r * cols * eb<F>();
      V wv[NT];
      for (int v = 0; v < NT; v++) {
        wv[v] = S::template ld<F>(row + (c + v * VL) * eb<F>());
        if constexpr (scaled<F>()) wv[v] = S::mul(wv[v], S::set1(scaleRow(w, r)[(c + v * VL) / scaleBlock(w)] * scaleMul(F)));
      }
      for (int m = 0; m < M; m++) {
        const V xb = S::set1(x[(t + m) * ldx + r]);
        for (int v = 0; v < NT; v++) acc[m][v] = S::fma(xb, wv[v], acc[m][v]);
      }
    }
    for (int m = 0; m < M; m++)
      for (int v = 0; v < NT; v++) S::store(y + (t + m) * ldy + c + v * VL, acc[m][v]);
  }

  template <Fmt F, int M>
  static void kernTAny(int m, const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t,
                       int64_t c) {
    if constexpr (M >= 1) {
      if (m == M) return kernT<F, M>(w, x, ldx, y, ldy, t, c);
      kernTAny<F, M - 1>(m, w, x, ldx, y, ldy, t, c);
    }
  }

  // Columns c in [c0, c1) for every token in [t0, t1), element by element (edges and odd block sizes).
  static void gemmTSlow(const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t0,
                        int64_t t1, int64_t c0, int64_t c1) {
    const int64_t rows = w.rows, cols = w.cols, e = elemBytes(w.fmt);
    for (int64_t t = t0; t < t1; t++)
      for (int64_t c = c0; c < c1; c++) y[t * ldy + c] = 0.f;
    for (int64_t r = 0; r < rows; r++) {
      const uint8_t* row = w.data + r * cols * e;
      for (int64_t c = c0; c < c1; c++) {
        const float wv = rawElem(w.fmt, row, c) * blockScale(w, r, c);
        for (int64_t t = t0; t < t1; t++) y[t * ldy + c] += x[t * ldx + r] * wv;
      }
    }
  }

  template <Fmt F>
  static void gemmTF(const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t0, int64_t t1,
                     int64_t c0, int64_t c1) {
    const int64_t blk = scaleBlock(w);
    if (scaled<F>() && (blk % VL != 0 || c0 % VL != 0)) return gemmTSlow(w, x, ldx, y, ldy, t0, t1, c0, c1);
    constexpr int64_t CW = NT * VL;
    int64_t c = c0;
    for (; c + CW <= c1; c += CW) {
      int64_t t = t0;
      for (; t + MR <= t1; t += MR) kernT<F, MR>(w, x, ldx, y, ldy, t, c);
      if (t < t1) kernTAny<F, MR - 1>(int(t1 - t), w, x, ldx, y, ldy, t, c);
    }
    if (c < c1) gemmTSlow(w, x, ldx, y, ldy, t0, t1, c, c1);
  }

  static void gemmT(const WeightRef& w, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t t0, int64_t t1,
                    int64_t c0, int64_t c1) {
    switch (w.fmt) {
      case Fmt::F32: return gemmTF<Fmt::F32>(w, x, ldx, y, ldy, t0, t1, c0, c1);
      case Fmt::BF16: return gemmTF<Fmt::BF16>(w, x, ldx, y, ldy, t0, t1, c0, c1);
      case Fmt::F16: return gemmTF<Fmt::F16>(w, x, ldx, y, ldy, t0, t1, c0, c1);
      case Fmt::FP8: return gemmTF<Fmt::FP8>(w, x, ldx, y, ldy, t0, t1, c0, c1);
      case Fmt::INT8: return gemmTF<Fmt::INT8>(w, x, ldx, y, ldy, t0, t1, c0, c1);
      case Fmt::INT4: return Q4<S>::gemmT(w, x, ldx, y, ldy, t0, t1, c0, c1, &gemmTF<Fmt::F32>);
    }
  }

  // ---- vector exp -------------------------------------------------------------------------------------------
  // 2^x: x = n + f, |f| ≤ 1/2, 2^f = e^(f·ln2) by its degree-7 Taylor polynomial (truncation < 6e-9);
  // relative error ≈ 2 ulp. x < −126 (and −inf) → 0; NaN propagates.
  static V poly7(V r) {
    V p = S::set1(1.f / 5040.f);
    p = S::fma(p, r, S::set1(1.f / 720.f));
    p = S::fma(p, r, S::set1(1.f / 120.f));
    p = S::fma(p, r, S::set1(1.f / 24.f));
    p = S::fma(p, r, S::set1(1.f / 6.f));
    p = S::fma(p, r, S::set1(0.5f));
    p = S::fma(p, r, S::set1(1.f));
    return S::fma(p, r, S::set1(1.f));
  }
  static V exp2v(V x) {
    const V xc = S::min(S::set1(127.f), S::max(S::set1(-126.f), x));  // max/min return NaN operands
    const V n = S::round(xc);
    const V r = S::mul(S::sub(xc, n), S::set1(0.693147180559945f));
    return S::selLt(x, S::set1(-126.f), S::zero(), S::mul(poly7(r), S::pow2i(n)));
  }
  // e^x: n = round(x·log2 e), r = x − n·ln2 in two parts (Cody–Waite), e^x = 2^n·e^r. x < −87.3 → 0.
  static V expv(V x) {
    const V xc = S::min(S::set1(88.0f), S::max(S::set1(-87.3f), x));
    const V n = S::round(S::mul(xc, S::set1(1.44269504088896f)));
    V r = S::fma(n, S::set1(-0.693359375f), xc);
    r = S::fma(n, S::set1(2.12194440e-4f), r);
    return S::selLt(x, S::set1(-87.3f), S::zero(), S::mul(poly7(r), S::pow2i(n)));
  }

  static void siluMul(const float* g, const float* u, int64_t n, float* y) {
    int64_t i = 0;
    const V one = S::set1(1.f);
    for (; i + VL <= n; i += VL) {
      const V gv = S::load(g + i);
      const V e = expv(S::sub(S::zero(), gv));
      S::store(y + i, S::mul(S::div(gv, S::add(one, e)), S::load(u + i)));
    }
    for (; i < n; i++) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }

  static void rmsRow(const float* x, const float* w, int64_t D, double eps, float* y) {
    V a0 = S::zero(), a1 = S::zero();
    int64_t i = 0;
    for (; i + 2 * VL <= D; i += 2 * VL) {
      const V x0 = S::load(x + i), x1 = S::load(x + i + VL);
      a0 = S::fma(x0, x0, a0), a1 = S::fma(x1, x1, a1);
    }
    double ss = double(S::hsum(S::add(a0, a1)));
    for (; i < D; i++) ss += double(x[i]) * x[i];
    const float inv = float(1 / std::sqrt(ss / double(D) + eps));
    const V iv = S::set1(inv);
    for (i = 0; i + VL <= D; i += VL) S::store(y + i, S::mul(S::mul(S::load(x + i), iv), S::load(w + i)));
    for (; i < D; i++) y[i] = x[i] * inv * w[i];
  }

  // ---- probes -----------------------------------------------------------------------------------------------
  // Four concurrent sequential streams (like gemv's four rows), two accumulators each.
  static double readSum(const float* p, int64_t n) {
    const int64_t q = n / 4 / (2 * VL) * (2 * VL);
    V a[8];
    for (int j = 0; j < 8; j++) a[j] = S::zero();
    for (int64_t i = 0; i < q; i += 2 * VL)
      for (int j = 0; j < 4; j++) {
        a[2 * j] = S::add(a[2 * j], S::load(p + j * q + i));
        a[2 * j + 1] = S::add(a[2 * j + 1], S::load(p + j * q + i + VL));
      }
    for (int j = 1; j < 8; j++) a[0] = S::add(a[0], a[j]);
    double s = S::hsum(a[0]);
    for (int64_t i = 4 * q; i < n; i++) s += p[i];
    return s;
  }

  static double fmaLoop(int64_t iters, float* sink) {
    constexpr int C = 12;  // independent chains: covers FMA latency x throughput
    V a[C];
    for (int i = 0; i < C; i++) a[i] = S::set1(1.0f + 0.01f * i);
    const V m = S::set1(0.9999999f), b = S::set1(1e-7f);
    for (int64_t it = 0; it < iters; it++)
      for (int i = 0; i < C; i++) a[i] = S::fma(a[i], m, b);
    V s = a[0];
    for (int i = 1; i < C; i++) s = S::add(s, a[i]);
    *sink = S::hsum(s);
    return double(iters) * C * VL * 2;
  }

  static Kernels make(const char* name) {
    Kernels k{};
    k.name = name;
    k.gemv = &gemv;
    k.gemvT = &gemvT;
    k.gemmPanel = &gemmPanel;
    k.gemmDot = &gemmDot;
    k.dotTokens = VL;
    k.panelTokens = TP;
    k.gemmT = &gemmT;
    Attn<S>::fill(k);
    Idx<S>::fill(k);
    k.siluMul = &siluMul;
    k.rmsRow = &rmsRow;
    k.readSum = &readSum;
    k.fmaLoop = &fmaLoop;
    return k;
  }
};

}  // namespace glm5

#include "attn_impl.h"
#include "indexer_impl.h"

// Attention kernels, written once over a SIMD vocabulary S and instantiated with the kernel table of each
// ISA (kernels_impl.h includes this file at its end; Impl<S>::make fills the table from Attn<S>::fill).
// Key / value rows are f32 or bf16 (a compact latent cache): bf16 rows of a key block are converted once
// into a packed f32 block (KB rows, contiguous), which every micro-kernel of the tile then reads, so the
// conversion costs 1/lanes of the block's FMAs and scattered (sparse) rows become one dense block.
#pragma once
#include <cmath>
#include <cstdint>
#include "convert.h"

namespace glm5 {

template <class S>
struct Attn {
  using V = typename S::V;
  using I = Impl<S>;
  static constexpr int VL = S::VL;
  static V exp2v(V x) { return I::exp2v(x); }

  // ---- attention helpers ---------------------------------------------------------------------------------
  static void qk(const float* q, const float* const* keys, int64_t nk, int64_t n, float* scores) {
    const int64_t nv = n / VL * VL;
    int64_t j = 0;
    for (; j + 4 <= nk; j += 4) {
      V a0 = S::zero(), a1 = S::zero(), a2 = S::zero(), a3 = S::zero();
      const float *k0 = keys[j], *k1 = keys[j + 1], *k2 = keys[j + 2], *k3 = keys[j + 3];
      for (int64_t i = 0; i < nv; i += VL) {
        const V qv = S::load(q + i);
        a0 = S::fma(qv, S::load(k0 + i), a0);
        a1 = S::fma(qv, S::load(k1 + i), a1);
        a2 = S::fma(qv, S::load(k2 + i), a2);
        a3 = S::fma(qv, S::load(k3 + i), a3);
      }
      float s0 = S::hsum(a0), s1 = S::hsum(a1), s2 = S::hsum(a2), s3 = S::hsum(a3);
      for (int64_t i = nv; i < n; i++) s0 += q[i] * k0[i], s1 += q[i] * k1[i], s2 += q[i] * k2[i], s3 += q[i] * k3[i];
      scores[j] = s0, scores[j + 1] = s1, scores[j + 2] = s2, scores[j + 3] = s3;
    }
    for (; j < nk; j++) {
      V a = S::zero();
      const float* k = keys[j];
      for (int64_t i = 0; i < nv; i += VL) a = S::fma(S::load(q + i), S::load(k + i), a);
      float s = S::hsum(a);
      for (int64_t i = nv; i < n; i++) s += q[i] * k[i];
      scores[j] = s;
    }
  }

  static void pv(const float* p, const float* const* vals, int64_t nv, int64_t n, float* out) {
    int64_t c = 0;
    for (; c + 4 * VL <= n; c += 4 * VL) {
      V a0 = S::load(out + c), a1 = S::load(out + c + VL), a2 = S::load(out + c + 2 * VL), a3 = S::load(out + c + 3 * VL);
      for (int64_t j = 0; j < nv; j++) {
        const V pj = S::set1(p[j]);
        const float* v = vals[j] + c;
        a0 = S::fma(pj, S::load(v), a0);
        a1 = S::fma(pj, S::load(v + VL), a1);
        a2 = S::fma(pj, S::load(v + 2 * VL), a2);
        a3 = S::fma(pj, S::load(v + 3 * VL), a3);
      }
      S::store(out + c, a0), S::store(out + c + VL, a1), S::store(out + c + 2 * VL, a2), S::store(out + c + 3 * VL, a3);
    }
    for (; c + VL <= n; c += VL) {
      V a = S::load(out + c);
      for (int64_t j = 0; j < nv; j++) a = S::fma(S::set1(p[j]), S::load(vals[j] + c), a);
      S::store(out + c, a);
    }
    for (; c < n; c++) {
      float a = out[c];
      for (int64_t j = 0; j < nv; j++) a += p[j] * vals[j][c];
      out[c] = a;
    }
  }

  static void qk2(const float* q0, const float* q1, const float* const* keys, int64_t nk, int64_t n, float* s0,
                  float* s1) {
    const int64_t nv = n / VL * VL;
    int64_t j = 0;
    for (; j + 4 <= nk; j += 4) {
      V a[2][4];
      for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++) a[h][i] = S::zero();
      for (int64_t c = 0; c < nv; c += VL) {
        const V x0 = S::load(q0 + c), x1 = S::load(q1 + c);
        for (int i = 0; i < 4; i++) {
          const V kv = S::load(keys[j + i] + c);
          a[0][i] = S::fma(x0, kv, a[0][i]);
          a[1][i] = S::fma(x1, kv, a[1][i]);
        }
      }
      for (int i = 0; i < 4; i++) {
        float r0 = S::hsum(a[0][i]), r1 = S::hsum(a[1][i]);
        for (int64_t c = nv; c < n; c++) r0 += q0[c] * keys[j + i][c], r1 += q1[c] * keys[j + i][c];
        s0[j + i] = r0, s1[j + i] = r1;
      }
    }
    if (j < nk) {
      qk(q0, keys + j, nk - j, n, s0 + j);
      qk(q1, keys + j, nk - j, n, s1 + j);
    }
  }

  static void pv2(const float* p0, const float* p1, const float* const* vals, int64_t nv, int64_t n, float* out0,
                  float* out1) {
    int64_t c = 0;
    for (; c + 4 * VL <= n; c += 4 * VL) {
      V a[2][4];
      for (int i = 0; i < 4; i++) a[0][i] = S::load(out0 + c + i * VL), a[1][i] = S::load(out1 + c + i * VL);
      for (int64_t j = 0; j < nv; j++) {
        const V b0 = S::set1(p0[j]), b1 = S::set1(p1[j]);
        for (int i = 0; i < 4; i++) {
          const V v = S::load(vals[j] + c + i * VL);
          a[0][i] = S::fma(b0, v, a[0][i]);
          a[1][i] = S::fma(b1, v, a[1][i]);
        }
      }
      for (int i = 0; i < 4; i++) S::store(out0 + c + i * VL, a[0][i]), S::store(out1 + c + i * VL, a[1][i]);
    }
    if (c < n) {
      // Remaining columns: the single-head kernel on the tail of each row.
      const float* tail[64];
      for (int64_t j0 = 0; j0 < nv; j0 += 64) {
        const int64_t m = imin(64, nv - j0);
        for (int64_t j = 0; j < m; j++) tail[j] = vals[j0 + j] + c;
        pv(p0 + j0, tail, m, n - c, out0 + c);
        pv(p1 + j0, tail, m, n - c, out1 + c);
      }
    }
  }


  // ---- attention tiles: query lanes across SIMD vectors ------------------------------------------------------
  // Q is transposed into Qt [dk][lanes] (pre-multiplied by scale·log2 e), so scores of a key block are
  // St[j][lanes] = Σ_d K[j][d]·Qt[d] (key elements broadcast, NK keys x NV lane vectors per micro-tile); the
  // online softmax runs per lane, element-wise across key rows (no horizontal reductions), in base 2; the
  // output is kept transposed, Ot[dv][lanes] += Σ_j V[j][c]·P[j] (value elements broadcast).
  static constexpr int AV = 4;  // lane vectors per tile at most
  static constexpr int64_t KB = ATTN_KB;

  // Columns [d0, d1) of the scores (added to st unless d0 == 0). kpre: rows to prefetch meanwhile (the same
  // micro-tile of the next key block), one cache line per 16 d.
  template <int NK, int NV>
  static void attnQK(const float* const* krow, const float* const* kpre, const float* qt, int64_t ldq, int64_t d0, int64_t d1, float* st) {
    V acc[NK][NV];
    for (int r = 0; r < NK; r++)
      for (int v = 0; v < NV; v++) acc[r][v] = d0 == 0 ? S::zero() : S::load(st + r * ldq + v * VL);
    for (int64_t d = d0; d < d1; d++) {
      if ((d & 15) == 0)
        for (int r = 0; r < NK; r++) S::prefetch(kpre[r] + d);
      V qv[NV];
      for (int v = 0; v < NV; v++) qv[v] = S::load(qt + d * ldq + v * VL);
      for (int r = 0; r < NK; r++) {
        const V b = S::set1(krow[r][d]);
        for (int v = 0; v < NV; v++) acc[r][v] = S::fma(b, qv[v], acc[r][v]);
      }
    }
    for (int r = 0; r < NK; r++)
      for (int v = 0; v < NV; v++) S::store(st + r * ldq + v * VL, acc[r][v]);
  }
  template <int NK, int NV>
  static void attnQKAny(int nk, const float* const* krow, const float* const* kpre, const float* qt, int64_t ldq, int64_t d0, int64_t d1,
                        float* st) {
    if constexpr (NK >= 1) {
      if (nk == NK) return attnQK<NK, NV>(krow, kpre, qt, ldq, d0, d1, st);
      attnQKAny<NK - 1, NV>(nk, krow, kpre, qt, ldq, d0, d1, st);
    }
  }

  // Ot[c0 .. c0+NC) = Ot·corr + Σ_j V[j][c]·P[j]
  template <int NC, int NV>
  static void attnPV(const float* const* vrow, int64_t nb, int64_t c0, const float* p, int64_t ldq, const V* corr,
                     float* ot) {
    V acc[NC][NV];
    for (int c = 0; c < NC; c++)
      for (int v = 0; v < NV; v++) acc[c][v] = S::mul(S::load(ot + (c0 + c) * ldq + v * VL), corr[v]);
    for (int64_t j = 0; j < nb; j++) {
      V pv[NV];
      for (int v = 0; v < NV; v++) pv[v] = S::load(p + j * ldq + v * VL);
      const float* vr = vrow[j] + c0;
      for (int c = 0; c < NC; c++) {
        const V b = S::set1(vr[c]);
        for (int v = 0; v < NV; v++) acc[c][v] = S::fma(b, pv[v], acc[c][v]);
      }
    }
    for (int c = 0; c < NC; c++)
      for (int v = 0; v < NV; v++) S::store(ot + (c0 + c) * ldq + v * VL, acc[c][v]);
  }
  template <int NC, int NV>
  static void attnPVAny(int nc, const float* const* vrow, int64_t nb, int64_t c0, const float* p, int64_t ldq,
                        const V* corr, float* ot) {
    if constexpr (NC >= 1) {
      if (nc == NC) return attnPV<NC, NV>(vrow, nb, c0, p, ldq, corr, ot);
      attnPVAny<NC - 1, NV>(nc, vrow, nb, c0, p, ldq, corr, ot);
    }
  }

  // ---- narrow tiles (≤ one lane vector of queries, e.g. 16 MLA heads over one latent head, AVX-512) -------
  // With one lane vector, the broadcast forms above do one FMA per load. Here scores are dot products along
  // d (NH query rows x NK key rows per micro-tile: NH + NK loads per NH·NK FMAs) and the output is kept
  // per query row, Or[i][c] += P[j][i]·V[j][c] (NH rows x NC column vectors: NH + NC loads per NH·NC FMAs).
  static constexpr int QH = 4;                        // query rows per micro-tile
  static constexpr int QK_N = S::ACC / QH > 0 ? S::ACC / QH : 1;  // keys per QK micro-tile
  static constexpr int PV_N = S::ACC / QH > 0 ? S::ACC / QH : 1;  // column vectors per PV micro-tile

  template <int NH, int NK>
  static void qkDot(const float* const* qr, const float* const* krow, const float* const* kpre, int64_t dk, float* st,
                    int64_t ldq) {
    V acc[NH][NK];
    for (int i = 0; i < NH; i++)
      for (int j = 0; j < NK; j++) acc[i][j] = S::zero();
    int64_t d = 0;
    for (; d + VL <= dk; d += VL) {
      if (kpre && (d * 4) % 64 == 0)
        for (int j = 0; j < NK; j++) S::prefetch(kpre[j] + d);
      V kv[NK];
      for (int j = 0; j < NK; j++) kv[j] = S::load(krow[j] + d);
      for (int i = 0; i < NH; i++) {
        const V qv = S::load(qr[i] + d);
        for (int j = 0; j < NK; j++) acc[i][j] = S::fma(qv, kv[j], acc[i][j]);
      }
    }
    for (int i = 0; i < NH; i++)
      for (int j = 0; j < NK; j++) {
        float s = S::hsum(acc[i][j]);
        for (int64_t e = d; e < dk; e++) s += qr[i][e] * krow[j][e];
        st[j * ldq + i] = s;
      }
  }
  template <int NH, int NK>
  static void qkDotAny(int nh, int nk, const float* const* qr, const float* const* krow, const float* const* kpre,
                       int64_t dk, float* st, int64_t ldq) {
    if constexpr (NH >= 1 && NK >= 1) {
      if (nh < NH) return qkDotAny<NH - 1, NK>(nh, nk, qr, krow, kpre, dk, st, ldq);
      if (nk < NK) return qkDotAny<NH, NK - 1>(nh, nk, qr, krow, kpre, dk, st, ldq);
      qkDot<NH, NK>(qr, krow, kpre, dk, st, ldq);
    }
  }

  // Or[i][c0 .. c0 + NC·VL) = Or·corr[i] + Σ_j P[j][i0 + i]·V[j][c]
  template <int NH, int NC>
  static void pvRows(const float* const* vrow, int64_t nb, int64_t c0, const float* p, int64_t ldq, int64_t i0,
                     const float* corr, float* orow, int64_t dv) {
    V acc[NH][NC];
    for (int i = 0; i < NH; i++) {
      const V cv = S::set1(corr[i0 + i]);
      for (int c = 0; c < NC; c++) acc[i][c] = S::mul(S::load(orow + (i0 + i) * dv + c0 + c * VL), cv);
    }
    for (int64_t j = 0; j < nb; j++) {
      V vv[NC];
      for (int c = 0; c < NC; c++) vv[c] = S::load(vrow[j] + c0 + c * VL);
      for (int i = 0; i < NH; i++) {
        const V pb = S::set1(p[j * ldq + i0 + i]);
        for (int c = 0; c < NC; c++) acc[i][c] = S::fma(pb, vv[c], acc[i][c]);
      }
    }
    for (int i = 0; i < NH; i++)
      for (int c = 0; c < NC; c++) S::store(orow + (i0 + i) * dv + c0 + c * VL, acc[i][c]);
  }
  template <int NH, int NC>
  static void pvRowsAny(int nh, int nc, const float* const* vrow, int64_t nb, int64_t c0, const float* p, int64_t ldq,
                        int64_t i0, const float* corr, float* orow, int64_t dv) {
    if constexpr (NH >= 1 && NC >= 1) {
      if (nh < NH) return pvRowsAny<NH - 1, NC>(nh, nc, vrow, nb, c0, p, ldq, i0, corr, orow, dv);
      if (nc < NC) return pvRowsAny<NH, NC - 1>(nh, nc, vrow, nb, c0, p, ldq, i0, corr, orow, dv);
      pvRows<NH, NC>(vrow, nb, c0, p, ldq, i0, corr, orow, dv);
    }
  }
  // Columns dv % VL (scalar): Or[i][c] = Or·corr + Σ_j P[j][i]·V[j][c].
  static void pvTail(const float* const* vrow, int64_t nb, int64_t c0, int64_t c1, const float* p, int64_t ldq,
                     int64_t nq, const float* corr, float* orow, int64_t dv) {
    for (int64_t i = 0; i < nq; i++)
      for (int64_t c = c0; c < c1; c++) {
        float a = orow[i * dv + c] * corr[i];
        for (int64_t j = 0; j < nb; j++) a += p[j * ldq + i] * vrow[j][c];
        orow[i * dv + c] = a;
      }
  }

  static void bf16Row(const uint16_t* src, int64_t n, float* dst) {
    int64_t i = 0;
    for (; i + VL <= n; i += VL) S::store(dst + i, S::template ld<Fmt::BF16>(reinterpret_cast<const uint8_t*>(src + i)));
    for (; i < n; i++) dst[i] = bf16ToF32(src[i]);
  }
  static void prefetchRow(const void* p, int64_t bytes) {
    for (int64_t b = 0; b < bytes; b += 64) S::prefetch(static_cast<const uint8_t*>(p) + b);
  }

  // Rows of key block [jb, jb + nb): pointers into the cache (f32 rows), or into the packed block kp / vp
  // after conversion (bf16 rows; values that are the keys' first dv columns, MLA's latent, share the key
  // rows). knext: the next block's rows, prefetched by the score micro-kernels (f32); bf16 packing
  // prefetches the next block's raw rows itself as it converts this one.
  static void blockRows(const AttnTile& t, int64_t jb, int64_t nb, int64_t j1, const float** krow, const float** vrow,
                        const float** knext, float* kp, float* vp) {
    const int64_t nn = imin(KB, j1 - (jb + KB));  // keys in the next block (≤ 0: none)
    const auto row = [&](int64_t j) -> int64_t { return t.rows ? t.rows[j] : j; };
    if (t.kvBytes == 4) {
      const float* k = static_cast<const float*>(t.k);
      const float* v = static_cast<const float*>(t.v);
      for (int64_t j = 0; j < nb; j++) {
        const int64_t r = row(jb + j);
        krow[j] = k + r * t.kStride;
        vrow[j] = v + r * t.vStride;
      }
      for (int64_t j = 0; j < nb; j++) knext[j] = j < nn ? k + row(jb + KB + j) * t.kStride : krow[j];
      return;
    }
    const uint16_t* k = static_cast<const uint16_t*>(t.k);
    const uint16_t* v = static_cast<const uint16_t*>(t.v);
    const bool alias = t.v == t.k && t.vStride == t.kStride && t.dv <= t.dk;
    for (int64_t j = 0; j < nb; j++) {
      if (j < nn) {
        const int64_t rn = row(jb + KB + j);
        prefetchRow(k + rn * t.kStride, t.dk * 2);
        if (!alias) prefetchRow(v + rn * t.vStride, t.dv * 2);
      }
      const int64_t r = row(jb + j);
      bf16Row(k + r * t.kStride, t.dk, kp + j * t.dk);
      krow[j] = knext[j] = kp + j * t.dk;
      if (alias) {
        vrow[j] = krow[j];
      } else {
        bf16Row(v + r * t.vStride, t.dv, vp + j * t.dv);
        vrow[j] = vp + j * t.dv;
      }
    }
  }

  template <int NV>
  static void attnTile(const AttnTile& t, float* scratch) {
    constexpr int NK = S::ACC / NV > 1 ? S::ACC / NV : 1;
    constexpr int64_t ldq = NV * VL;
    constexpr int64_t DC = 4096 / ldq > 32 ? 4096 / ldq : 32;  // score columns per pass (Qt chunk ≤ 16 KiB)
    const int64_t dk = t.dk, dv = t.dv, nq = t.nq;
    float* qt = scratch;            // [dk][ldq]
    float* ot = qt + dk * ldq;      // [dv][ldq]
    float* st = ot + dv * ldq;      // [KB][ldq]
    float* kp = st + KB * ldq;      // [KB][dk] converted key rows (bf16 caches)
    float* vp = kp + KB * dk;       // [KB][dv] converted value rows (when not the keys' first columns)
    const float* krow[KB];
    const float* vrow[KB];
    // Key rows of the next block, prefetched while this block's scores are computed: sparse (DSA) rows are
    // scattered over the cache, where hardware prefetchers do not follow, and each block has ~10 µs of work.
    const float* knext[KB];
    const float qs = t.scale * 1.44269504088896f;
    int64_t maxLim = 0, minLim = INT64_MAX;
    for (int64_t i = 0; i < nq; i++) maxLim = t.lim[i] > maxLim ? t.lim[i] : maxLim, minLim = t.lim[i] < minLim ? t.lim[i] : minLim;
    // Narrow tiles: qt holds the scaled query rows [nq][dk] and ot the output rows [nq][dv] instead. (With two
    // lane vectors the broadcast form already loads less than once per FMA: 16 heads on AVX2 ran 1.8x faster wide.)
    const bool narrow = nq <= VL;
    const float* qr[16];
    if (narrow) {
      for (int64_t i = 0; i < nq; i++) {
        for (int64_t d = 0; d < dk; d++) qt[i * dk + d] = t.q[i][d] * qs;
        qr[i] = qt + i * dk;
      }
    } else {
      for (int64_t d = 0; d < dk; d++)
        for (int64_t i = 0; i < ldq; i++) qt[d * ldq + i] = i < nq ? t.q[i][d] * qs : 0.f;
    }
    fillz(ot, ot + dv * ldq);
    alignas(64) float limf[ldq];
    for (int64_t i = 0; i < ldq; i++) limf[i] = i < nq ? float(t.lim[i]) : 0.f;
    V m[NV], l[NV], lim[NV];
    for (int v = 0; v < NV; v++) m[v] = S::set1(-INFINITY), l[v] = S::zero(), lim[v] = S::load(limf + v * VL);
    const int64_t j1 = imin(t.j1, maxLim);
    const V ninf = S::set1(-INFINITY);
    for (int64_t jb = t.j0; jb < j1; jb += KB) {
      const int64_t nb = imin(KB, j1 - jb);
      blockRows(t, jb, nb, j1, krow, vrow, knext, kp, vp);
      int64_t j = 0;
      if (narrow) {
        for (; j < nb; j += QK_N)
          for (int64_t i = 0; i < nq; i += QH)
            qkDotAny<QH, QK_N>(int(imin(QH, nq - i)), int(imin(QK_N, nb - j)), qr + i, krow + j, i == 0 ? knext + j : nullptr,
                               dk, st + j * ldq + i, ldq);
        // Lanes past nq are not scores: keep them finite for the softmax below (their output is dropped).
        for (j = 0; j < nb; j++)
          for (int64_t i = nq; i < ldq; i++) st[j * ldq + i] = 0.f;
      } else {
        // d in chunks of DC, so the chunk of Qt (16 KiB) stays in L1 while every key micro-tile passes over it
        // (all of Qt, 576 x 16 lanes = 36 KiB for MLA, did not).
        for (int64_t d0 = 0; d0 < dk; d0 += DC) {
          const int64_t d1 = imin(dk, d0 + DC);
          for (j = 0; j + NK <= nb; j += NK) attnQK<NK, NV>(krow + j, knext + j, qt, ldq, d0, d1, st + j * ldq);
          if (j < nb) attnQKAny<NK - 1, NV>(int(nb - j), krow + j, knext + j, qt, ldq, d0, d1, st + j * ldq);
        }
      }
      const bool masked = jb + nb > minLim;
      V mx[NV];
      for (int v = 0; v < NV; v++) mx[v] = ninf;
      for (j = 0; j < nb; j++) {
        const V jf = S::set1(float(jb + j));
        for (int v = 0; v < NV; v++) {
          V sc = S::load(st + j * ldq + v * VL);
          if (masked) {
            sc = S::selLt(jf, lim[v], sc, ninf);
            S::store(st + j * ldq + v * VL, sc);
          }
          mx[v] = S::max(mx[v], sc);
        }
      }
      V corr[NV], base[NV], sum[NV];
      for (int v = 0; v < NV; v++) {
        const V mn = S::max(m[v], mx[v]);
        base[v] = S::selLt(mn, S::set1(-3.0e38f), S::zero(), mn);  // lanes with nothing visible yet: 0
        corr[v] = exp2v(S::sub(m[v], base[v]));
        m[v] = mn;
        sum[v] = S::zero();
      }
      for (j = 0; j < nb; j++)
        for (int v = 0; v < NV; v++) {
          const V p = exp2v(S::sub(S::load(st + j * ldq + v * VL), base[v]));
          S::store(st + j * ldq + v * VL, p);
          sum[v] = S::add(sum[v], p);
        }
      for (int v = 0; v < NV; v++) l[v] = S::fma(l[v], corr[v], sum[v]);
      int64_t c = 0;
      if (narrow) {
        alignas(64) float cf[ldq];
        for (int v = 0; v < NV; v++) S::store(cf + v * VL, corr[v]);
        const int64_t dvv = dv / VL * VL;
        for (; c < dvv; c += PV_N * VL)
          for (int64_t i = 0; i < nq; i += QH)
            pvRowsAny<QH, PV_N>(int(imin(QH, nq - i)), int(imin(PV_N, (dvv - c) / VL)), vrow, nb, c, st, ldq, i, cf, ot, dv);
        if (dvv < dv) pvTail(vrow, nb, dvv, dv, st, ldq, nq, cf, ot, dv);
      } else {
        for (; c + NK <= dv; c += NK) attnPV<NK, NV>(vrow, nb, c, st, ldq, corr, ot);
        if (c < dv) attnPVAny<NK - 1, NV>(int(dv - c), vrow, nb, c, st, ldq, corr, ot);
      }
    }
    alignas(64) float lf[ldq], mf[ldq];
    for (int v = 0; v < NV; v++) S::store(lf + v * VL, l[v]), S::store(mf + v * VL, m[v]);
    // Output element (lane i, column c) of ot in either layout.
    const int64_t oi = narrow ? dv : 1, oc = narrow ? 1 : ldq;
    if (t.out) {
      for (int64_t i = 0; i < nq; i++) {
        float* o = t.out[i];
        const float inv = lf[i] > 0 ? 1.f / lf[i] : 0.f;
        for (int64_t c2 = 0; c2 < dv; c2++) o[c2] = ot[i * oi + c2 * oc] * inv;
      }
    } else {
      for (int64_t i = 0; i < nq; i++) {
        float* o = t.pO + i * dv;
        for (int64_t c2 = 0; c2 < dv; c2++) o[c2] = ot[i * oi + c2 * oc];
        t.pM[i] = mf[i], t.pL[i] = lf[i];
      }
    }
  }

  static void attn(const AttnTile& t, float* scratch) {
    switch ((t.nq + VL - 1) / VL) {
      case 1: return attnTile<1>(t, scratch);
      case 2: return attnTile<2>(t, scratch);
      case 3: return attnTile<3>(t, scratch);
      default: return attnTile<4>(t, scratch);
    }
  }

  static void fill(Kernels& k) {
    k.qk = &qk;
    k.pv = &pv;
    k.qk2 = &qk2;
    k.pv2 = &pv2;
    k.attn = &attn;
    k.attnLanes = AV * VL;
  }
};

}  // namespace glm5

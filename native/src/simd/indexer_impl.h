// DSA lightning-indexer kernels, written once over a SIMD vocabulary S (included at the end of
// kernels_impl.h; Impl<S>::make fills the table from Idx<S>::fill):
//   score(q row, key s) = Σ_h w[h] · relu(scale · q_h · k_s)
// Keys are read as stored in the cache: f32, bf16, or fp8 e4m3 with one f32 scale per 128 columns.
//   * few query rows (decode, short verifies): `indexer` — dot products along d read the key rows in place,
//     converted in registers (the gemmDot tile, heads as its tokens and keys as its rows);
//   * many query rows (prefill): a GEMM. `indexerPack` converts a chunk of keys once into a key panel
//     [⌈n/VL⌉][D][VL] (keys across lanes), and `indexerScores` runs HB heads x NKV key vectors per
//     micro-tile (broadcast q, NKV panel loads per HB·NKV FMAs), then ReLU, scale and head weight lane-wise:
//     the head sum needs no horizontal reduction and the scores are stored as whole vectors.
#pragma once
#include <cstdint>
#include <cstring>
#include "convert.h"

namespace glm5 {

template <class S>
struct Idx {
  using V = typename S::V;
  using I = Impl<S>;
  static constexpr int VL = S::VL;

  // ---- few rows: dot products along d, keys in place --------------------------------------------------------
  static constexpr int IK = VL >= 2 ? 2 : 1;  // keys per micro-tile
  static constexpr int IH = VL / IK;          // heads per micro-tile

  // The IK x IH dot products of one micro-tile over columns [c0, c0 + n) (keys of format F, raw values).
  template <Fmt F>
  static V dots(const float* const* qr, const uint8_t* const* kr, int64_t c0, int64_t n) {
    const float* qs[IH];
    const uint8_t* ks[IK];
    for (int h = 0; h < IH; h++) qs[h] = qr[h] + c0;
    for (int k = 0; k < IK; k++) ks[k] = kr[k] + c0 * I::template eb<F>();
    return I::template dotTile<F, IH>(qs, ks, n);
  }

  template <Fmt F>
  static void dotKeys(const float* q, const float* w, int64_t Hp, const KeyRows& keys, int64_t s0, int64_t s1, float scale,
                      float* out) {
    const int64_t groups = Hp / IH, D = keys.D, rowB = D * I::template eb<F>();
    const int64_t nblk = (D + KV_SCALE_BLOCK - 1) / KV_SCALE_BLOCK;
    alignas(64) float wl[64 * VL];  // per head group: w in the tile's lane order (k·IH + h); Hp ≤ 64·IH
    const float* qr[64 * IH];
    for (int64_t g = 0; g < groups; g++)
      for (int k = 0; k < IK; k++)
        for (int h = 0; h < IH; h++) wl[g * VL + k * IH + h] = w[g * IH + h];
    for (int64_t h = 0; h < Hp; h++) qr[h] = q + h * D;
    const V sc = S::set1(scale);
    for (int64_t s = s0; s < s1; s += IK) {
      const uint8_t* kr[IK];
      int64_t ks[IK];
      for (int k = 0; k < IK; k++) {  // past the end: repeat the last key
        ks[k] = imin(s + k, s1 - 1);
        kr[k] = keys.data + ks[k] * rowB;
      }
      V tz = S::zero();
      for (int64_t g = 0; g < groups; g++) {
        V d;
        if constexpr (F == Fmt::FP8) {
          // One scale per 128 columns and key: lane k·IH + h belongs to key k.
          d = S::zero();
          for (int64_t b = 0; b < nblk; b++) {
            alignas(64) float sl[VL];
            for (int k = 0; k < IK; k++)
              for (int h = 0; h < IH; h++) sl[k * IH + h] = keys.scales[ks[k] * nblk + b] * 256.f;
            const int64_t c0 = b * KV_SCALE_BLOCK;
            d = S::fma(dots<F>(qr + g * IH, kr, c0, imin(KV_SCALE_BLOCK, D - c0)), S::load(sl), d);
          }
        } else {
          d = dots<F>(qr + g * IH, kr, 0, D);
        }
        tz = S::fma(S::max(S::mul(d, sc), S::zero()), S::load(wl + g * VL), tz);
      }
      alignas(64) float z[VL];
      S::store(z, tz);
      for (int k = 0; k < IK && s + k < s1; k++) {
        float t = 0.f;
        for (int h = 0; h < IH; h++) t += z[k * IH + h];
        out[s + k - s0] = t;
      }
    }
  }

  // out[s - s0] for keys s in [s0, s1) of contiguous rows; q [Hp][D], rows h ≥ H zero; w [Hp] zero-padded.
  static void indexer(const float* q, const float* w, int64_t Hp, const KeyRows& keys, int64_t s0, int64_t s1, float scale,
                      float* out) {
    switch (keys.type) {
      case Kv::F32: return dotKeys<Fmt::F32>(q, w, Hp, keys, s0, s1, scale, out);
      case Kv::BF16: return dotKeys<Fmt::BF16>(q, w, Hp, keys, s0, s1, scale, out);
      case Kv::FP8: return dotKeys<Fmt::FP8>(q, w, Hp, keys, s0, s1, scale, out);
    }
  }

  // ---- many rows: a GEMM over a packed key panel ---------------------------------------------------------------
  static constexpr int NKV = VL >= 8 ? 3 : 2;  // key vectors per micro-tile
  static constexpr int HB = S::ACC / NKV;      // heads per micro-tile (AVX2 4, AVX-512 8)

  // Key row r of `keys` as f32 (fp8: value x its block scale, the reference's f32 product).
  static void keyRow(const KeyRows& keys, int64_t r, float* out) {
    const int64_t D = keys.D;
    if (keys.type == Kv::F32) {
      std::memcpy(out, keys.data + r * D * 4, size_t(D) * 4);
      return;
    }
    int64_t i = 0;
    if (keys.type == Kv::BF16) {
      const uint8_t* p = keys.data + r * D * 2;
      for (; i + VL <= D; i += VL) S::store(out + i, S::template ld<Fmt::BF16>(p + 2 * i));
      for (; i < D; i++) out[i] = bf16ToF32(rdU16(p + 2 * i));
      return;
    }
    const uint8_t* p = keys.data + r * D;
    const int64_t nblk = (D + KV_SCALE_BLOCK - 1) / KV_SCALE_BLOCK;
    for (int64_t b = 0; b < nblk; b++) {
      const float s = keys.scales[r * nblk + b];
      const int64_t e = imin(D, (b + 1) * KV_SCALE_BLOCK);
      for (; i < e; i++) out[i] = fp8ToF32(p[i]) * s;
    }
  }

  // kp [⌈n/VL⌉][D][VL] = key rows rows[0..n) across lanes (lanes past n zero); tmp ≥ D floats.
  static void indexerPack(const KeyRows& keys, const int32_t* rows, int64_t n, float* kp, float* tmp) {
    const int64_t D = keys.D, groups = (n + VL - 1) / VL;
    for (int64_t j = 0; j < groups * VL; j++) {
      float* dst = kp + (j / VL) * D * VL + j % VL;
      if (j >= n) {
        for (int64_t d = 0; d < D; d++) dst[d * VL] = 0.f;
        continue;
      }
      keyRow(keys, rows[j], tmp);
      for (int64_t d = 0; d < D; d++) dst[d * VL] = tmp[d];
    }
  }

  // One query row x NV key vectors: out[0 .. NV·VL).
  template <int NV>
  static void scoreTile(const float* q, const float* w, int64_t Hp, const float* kp, int64_t D, V sc, float* out) {
    V tot[NV];
    for (int v = 0; v < NV; v++) tot[v] = S::zero();
    for (int64_t h0 = 0; h0 < Hp; h0 += HB) {
      V acc[HB][NV];
      for (int h = 0; h < HB; h++)
        for (int v = 0; v < NV; v++) acc[h][v] = S::zero();
      const float* qh = q + h0 * D;
      for (int64_t d = 0; d < D; d++) {
        V kv[NV];
        for (int v = 0; v < NV; v++) kv[v] = S::load(kp + (v * D + d) * VL);
        for (int h = 0; h < HB; h++) {
          const V b = S::set1(qh[h * D + d]);
          for (int v = 0; v < NV; v++) acc[h][v] = S::fma(b, kv[v], acc[h][v]);
        }
      }
      for (int h = 0; h < HB; h++) {
        const V wv = S::set1(w[h0 + h]);
        for (int v = 0; v < NV; v++) tot[v] = S::fma(S::max(S::mul(acc[h][v], sc), S::zero()), wv, tot[v]);
      }
    }
    for (int v = 0; v < NV; v++) S::store(out + v * VL, tot[v]);
  }

  // out[r·ldo + j] for rows r < nr and keys j < roundUp(n, VL) of the panel; q [nr][Hp][D], w [nr][Hp].
  // Key groups outer: NKV panel vectors (≤ 24 KiB) stay in L1 while every row passes over them. (Blocks of 16
  // rows, their queries kept in L2, measured no faster.)
  static void indexerScores(const float* q, const float* w, int64_t nr, int64_t Hp, const float* kp, int64_t D, int64_t n,
                            float scale, float* out, int64_t ldo) {
    const V sc = S::set1(scale);
    const int64_t groups = (n + VL - 1) / VL;
    for (int64_t g = 0; g < groups; g += NKV) {
      const int64_t nv = imin(NKV, groups - g);
      const float* kg = kp + g * D * VL;
      for (int64_t r = 0; r < nr; r++) {
        const float* qr = q + r * Hp * D;
        const float* wr = w + r * Hp;
        float* o = out + r * ldo + g * VL;
        if (nv == NKV) scoreTile<NKV>(qr, wr, Hp, kg, D, sc, o);
        else if (nv == 2) scoreTile<(NKV > 2 ? 2 : 1)>(qr, wr, Hp, kg, D, sc, o);
        else scoreTile<1>(qr, wr, Hp, kg, D, sc, o);
      }
    }
  }

  static void fill(Kernels& k) {
    k.indexer = &indexer;
    k.indexerPack = &indexerPack;
    k.indexerScores = &indexerScores;
    k.hpad = IH > HB ? IH : HB;
  }
};

}  // namespace glm5

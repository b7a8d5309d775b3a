// The op drivers: argument-checked by addon.cpp, partitioned over the pool here, computed by the
// active kernel table. Shapes: T tokens, L keys, H heads, D widths, K top-k.
#pragma once
#include <cstdint>
#include "kernels.h"

namespace glm5 {

// y[T, rows] = x[T, cols] · Wᵀ
void matmul(const WeightRef& w, const float* x, int64_t T, float* y);
// ys[i][T, ws[i].rows] = x[T, cols] · ws[i]ᵀ for i < n (every ws[i].cols == cols): one schedule, one
// set of token panels, instead of n calls over the same input.
void matmulMany(const WeightRef* ws, int64_t n, const float* x, int64_t T, float* const* ys);
// y[T, cols] = x[T, rows] · W
void matmulT(const WeightRef& w, const float* x, int64_t T, float* y);
struct HeadMatmulArgs {
  const float* x;  // element (t, h, i) at x[xOffset + (t·heads + h)·xStride + i]
  int64_t xStride, xOffset, T, heads;
  WeightRef w;  // head h uses rows [h·headRows + rowStart, +n)
  int64_t headRows, rowStart, n;
  bool transposed;  // false: y[t, h, 0..n) = W_h x;  true: y[t, h, 0..cols) = W_hᵀ x
};
void headMatmul(const HeadMatmulArgs& a, float* y);
// out[n, cols] = rows ids[i] of W, exactly dequantised.
void gatherRows(const WeightRef& w, const int32_t* ids, int64_t n, float* out);
// W (any format but int4) → int4 (src/tensor/int4.ts, bit-identical): data [rows, ceil(cols/64)·32] bytes,
// scales [rows, ceil(cols/32)] f16 bits.
void quantizeInt4(const WeightRef& w, uint8_t* data, uint16_t* scales);

void rmsNorm(const float* x, int64_t T, int64_t D, const float* w, double eps, float* y);
void layerNorm(const float* x, int64_t T, int64_t D, const float* w, const float* b, double eps, float* y);

struct RopeArgs {
  float* x;
  int64_t T, rowStride, offset, heads, headStride, dim;
  const int32_t* positions;
  double theta;
  bool interleaved;
};
void rope(const RopeArgs& a);

void siluMul(const float* gate, const float* up, int64_t n, float* y);
void addInPlace(float* a, const float* b, int64_t n);
// dst[r·drs + b·dbs + i] = src[r·srs + b·sbs + i] for r < rows, b < blocks, i < n (pointers at the offsets).
void copyBlocks(const float* src, int64_t srs, int64_t sbs, float* dst, int64_t drs, int64_t dbs, int64_t rows,
                int64_t blocks, int64_t n);
// out[s·n + i] = element from + i of logical row s < L of a [rows, width] cache of type t (f32 or bf16, widened),
// row s at table[s / B]·B + s % B when paged (table non-null).
void readCache(const void* data, Kv t, int64_t width, int64_t L, int64_t from, int64_t n, const int32_t* table, int64_t B,
               float* out);
void softmax(float* x, int64_t T, int64_t N);
void topk(const float* x, int64_t T, int64_t N, int64_t k, int32_t* out);

struct AttentionArgs {
  const float* q;
  const void *k, *v;  // elements of type kv (f32 or bf16); strides and offsets in elements
  Kv kv;
  int64_t kStride, kOffset, vStride, vOffset;
  int64_t T, L, heads, kvHeads, dk, dv;
  float scale;
  const int32_t* keyLimit;
  const int32_t* indices;  // [T, K] or null (dense)
  int64_t K;
  // Paged keys / values (or null): logical key s lives in row table[s / blockSize]·blockSize + s % blockSize.
  const int32_t* table;
  int64_t blockSize;
};
// Returns false (and writes nothing) when a visible key is ≥ L; `badKey` gets it.
bool attention(const AttentionArgs& a, float* out, int64_t* badKey);
// Several independent attentions (say, every decoding sequence of a step) in one parallel schedule. Returns
// false (and may have written nothing) when sequence `badSeq` has a visible key ≥ its L.
bool attentionMany(const AttentionArgs* a, float* const* outs, int64_t count, int64_t* badSeq, int64_t* badKey);

struct IndexerArgs {
  const float *q, *weights;
  const void* keys;         // [rows, dim] of type keyType
  Kv keyType;
  const float* keyScales;  // fp8: [rows, ⌈dim/128⌉]
  int64_t T, L, heads, dim;
  float scale;
  const int32_t* keyLimit;
  int64_t topk;
  // Paged keys (or null), as in AttentionArgs.
  const int32_t* table;
  int64_t blockSize;
};
// out [T, min(topk, L)]
void indexerTopk(const IndexerArgs& a, int32_t* out);

struct MoeArgs {
  const float* x;
  int64_t T, D;
  const WeightRef* experts;  // [E][3]: gate, up, down
  int64_t E;
  const int32_t* ids;
  const float* weights;
  int64_t k;
};
void moe(const MoeArgs& a, float* out);

// Selects the k best of (score desc, index asc) from candidates `keys` (see topkKey) in place and
// writes their indices in order to out.
void selectTopk(uint64_t* keys, int64_t n, int64_t k, int32_t* out);
// The k best of scores sc[0, n) by (score desc, index asc), written in ascending index order, in O(n) (radix
// histogram, no sort). The DSA selection is a set: in position order, attention reads the cache front to
// back and sums in the order dense attention does.
void selectTopScores(const float* sc, int64_t n, int64_t k, int32_t* out);
static inline uint64_t topkKey(float v, int32_t idx) {
  if (v == 0.f) v = 0.f;  // -0 ties with +0, as in the reference's comparison
  uint32_t u;
  __builtin_memcpy(&u, &v, 4);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (uint64_t(u) << 32) | uint64_t(0xffffffffu - uint32_t(idx));
}

double measureBandwidth();
double measureFmaPeak();

}  // namespace glm5

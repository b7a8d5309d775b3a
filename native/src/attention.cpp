// Masked attention: online softmax over key blocks, reading only the visible key rows (f32 or bf16 rows,
// read in place). The DSA indexer is in indexer.cpp.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"
#include "pool.h"
#include "simd/convert.h"

namespace glm5 {

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// Element `at` of a cache array of type t as an f32 row of n: in place (f32), or converted into buf (bf16).
static const float* kvRow(const void* base, Kv t, int64_t at, int64_t n, float* buf) {
  if (t == Kv::F32) return static_cast<const float*>(base) + at;
  const uint16_t* p = static_cast<const uint16_t*>(base) + at;
  for (int64_t i = 0; i < n; i++) buf[i] = bf16ToF32(p[i]);
  return buf;
}

// Per (row, kv head, head chunk) with heads in pairs: the path for sparse masks with few query heads per
// kv head, where a tile would have almost no lanes.
static void attentionRows(const AttentionArgs& a, const std::vector<std::vector<int32_t>>& lists, float* out) {
  const int64_t T = a.T, H = a.heads, G = a.kvHeads, group = H / G, n = poolThreads();
  // Work items: (row, kv head, chunk of its query heads). Heads of one chunk share each key block.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(group, ceilDiv(n, T * G)));
  const int64_t hc = ceilDiv(group, chunks);
  const Kernels& k = K();
  parallelFor(T * G * chunks, [&](int64_t item, int) {
    const int64_t t = item / (G * chunks), g = (item / chunks) % G, c = item % chunks;
    const int64_t h0 = g * group + c * hc, h1 = std::min(g * group + group, h0 + hc);
    if (h0 >= h1) return;
    const int64_t nkeys = a.indices ? int64_t(lists[t].size()) : std::max<int32_t>(0, a.keyLimit[t]);
    constexpr int64_t B = 64;
    const float* krow[B];
    const float* vrow[B];
    float sc[2][B];
    // bf16 rows (a compact cache) are converted per block; f32 rows are read in place.
    std::vector<float> conv(a.kv == Kv::F32 ? 0 : size_t(B * (a.dk + a.dv)));
    std::vector<float> m(h1 - h0, -INFINITY), l(h1 - h0, 0.f);
    for (int64_t h = h0; h < h1; h++) std::fill(out + (t * H + h) * a.dv, out + (t * H + h + 1) * a.dv, 0.f);
    for (int64_t j0 = 0; j0 < nkeys; j0 += B) {
      const int64_t nb = std::min(B, nkeys - j0);
      for (int64_t j = 0; j < nb; j++) {
        const int64_t s = a.indices ? lists[t][j0 + j] : j0 + j;
        krow[j] = kvRow(a.k, a.kv, a.kOffset + s * a.kStride + g * a.dk, a.dk, conv.data() + j * a.dk);
        vrow[j] = kvRow(a.v, a.kv, a.vOffset + s * a.vStride + g * a.dv, a.dv, conv.data() + B * a.dk + j * a.dv);
      }
      // Heads in pairs: each key / value row is read once for two heads.
      for (int64_t h = h0; h < h1; h += 2) {
        const bool two = h + 1 < h1;
        float* o0 = out + (t * H + h) * a.dv;
        float* o1 = two ? o0 + a.dv : nullptr;
        const float* q0 = a.q + (t * H + h) * a.dk;
        if (two) k.qk2(q0, q0 + a.dk, krow, nb, a.dk, sc[0], sc[1]);
        else k.qk(q0, krow, nb, a.dk, sc[0]);
        for (int i = 0; i < (two ? 2 : 1); i++) {
          float* o = i ? o1 : o0;
          float* p = sc[i];
          float mx = -INFINITY;
          for (int64_t j = 0; j < nb; j++) mx = std::max(mx, p[j] *= a.scale);
          float& mh = m[h + i - h0];
          const float mnew = std::max(mh, mx);
          if (mnew != mh) {
            const float corr = std::exp(mh - mnew);
            if (corr != 1.f) {
              for (int64_t c = 0; c < a.dv; c++) o[c] *= corr;
              l[h + i - h0] *= corr;
            }
            mh = mnew;
          }
          float sum = 0;
          for (int64_t j = 0; j < nb; j++) sum += p[j] = std::exp(p[j] - mnew);
          l[h + i - h0] += sum;
        }
        if (two) k.pv2(sc[0], sc[1], vrow, nb, a.dv, o0, o1);
        else k.pv(sc[0], vrow, nb, a.dv, o0);
      }
    }
    for (int64_t h = h0; h < h1; h++) {
      const float lh = l[h - h0];
      if (lh > 0) {
        float* o = out + (t * H + h) * a.dv;
        const float inv = 1.f / lh;
        for (int64_t i = 0; i < a.dv; i++) o[i] *= inv;
      }
    }
  });
}

bool attention(const AttentionArgs& args, float* out, int64_t* badKey) {
  const int64_t T = args.T, H = args.heads, G = args.kvHeads, group = H / G, n = poolThreads();
  // Visible keys per row: a list for sparse masks, [0, lim) for dense ones. Paged keys always take lists
  // (of physical rows), so everything below reads rows through them.
  AttentionArgs a = args;
  static const int32_t kListed = 0;
  if (args.table && !a.indices) a.indices = &kListed;
  const auto phys = [&](int32_t s) -> int32_t {
    return args.table ? int32_t(args.table[s / args.blockSize] * args.blockSize + s % args.blockSize) : s;
  };
  std::vector<std::vector<int32_t>> lists(a.indices ? T : 0);
  // Per row: its key list and the first visible key ≥ L, if any. Built in parallel: a long prompt's rows
  // hold index_topk keys each (32K rows x 2048: 64M entries).
  std::vector<int64_t> rowKeys(size_t(T), 0), rowBad(size_t(T), -1);
  constexpr int64_t ROWS = 64;
  parallelFor((T + ROWS - 1) / ROWS, [&](int64_t task, int) {
    for (int64_t t = task * ROWS; t < std::min(T, (task + 1) * ROWS); t++) {
      const int32_t lim = a.keyLimit[t];
      if (!args.indices) {
        if (lim > a.L) {
          rowBad[size_t(t)] = lim - 1;
          continue;
        }
        rowKeys[size_t(t)] = lim;
        if (args.table) {
          lists[t].resize(size_t(std::max<int32_t>(lim, 0)));
          for (int32_t s = 0; s < lim; s++) lists[t][size_t(s)] = phys(s);
        }
        continue;
      }
      lists[t].reserve(size_t(std::min<int64_t>(a.K, std::max<int32_t>(lim, 0))));
      for (int64_t j = 0; j < a.K && rowBad[size_t(t)] < 0; j++) {
        const int32_t s = a.indices[t * a.K + j];
        if (s >= 0 && s < lim) {
          if (s >= a.L) rowBad[size_t(t)] = s;
          else lists[t].push_back(phys(s));
        }
      }
      rowKeys[size_t(t)] = int64_t(lists[t].size());
    }
  });
  int64_t maxKeys = 0;
  for (int64_t t = 0; t < T; t++) {
    if (rowBad[size_t(t)] >= 0) return *badKey = rowBad[size_t(t)], false;
    maxKeys = std::max(maxKeys, rowKeys[size_t(t)]);
  }
  if (T == 0 || H == 0) return true;
  const Kernels& k = K();
  const int64_t LN = k.attnLanes;
  if (a.indices && group < 4) {
    attentionRows(a, lists, out);
    return true;
  }
  // Tiles of up to LN query vectors ("lanes") sharing one kv head and one key list. Dense: the (row, head)
  // pairs of kv head g in order, so a tile spans consecutive rows (causal limits differ per lane). Sparse: the
  // heads of one row (its own key list). Dense tiles go from the longest to the shortest key range, kv head
  // by kv head, so the tail of the schedule is short and consecutive tiles share K/V blocks.
  // Too few tiles for the threads (decode): with short key lists (≤ 512 keys, cache-resident) the tiles get
  // fewer lanes, each thread reading the same keys for its own heads; with long ones the key list is split
  // instead (S chunks of ≥ one 64-key block, partials merged below), so each key row is read once.
  int64_t LT = LN;  // lanes per tile
  const auto tilesPerGroup = [&](int64_t lt) { return a.indices ? T * ceilDiv(group, lt) : ceilDiv(T * group, lt); };
  if (n > 1 && G * tilesPerGroup(LN) < n && maxKeys <= 512) {
    const int64_t want = ceilDiv(n, G * (a.indices ? T : 1));  // tiles per kv head (per row when sparse)
    LT = std::max<int64_t>(1, ceilDiv(a.indices ? group : T * group, want));
  }
  const int64_t tilesPerG = tilesPerGroup(LT);
  const int64_t items = G * tilesPerG;
  int64_t S = 1;
  if (items < 2 * n && n > 1 && LT == LN) S = std::max<int64_t>(1, std::min(ceilDiv(2 * n, items), ceilDiv(maxKeys, ATTN_KB)));
  const int64_t chunk = roundUp(ceilDiv(std::max<int64_t>(maxKeys, 1), S), ATTN_KB);
  static std::vector<float> partBuf;
  float* part = S > 1 ? grown(partBuf, size_t(items * S * LN * (a.dv + 2))) : nullptr;
  const int64_t hChunks = ceilDiv(group, LT);
  // Lanes of item i: fills q / out / lim pointers; returns the lane count.
  auto lanes = [&](int64_t item, const float** q, float** o, int32_t* lim, const int32_t** rows) -> int64_t {
    const int64_t g = item / tilesPerG, tile = item % tilesPerG;
    int64_t nq = 0;
    if (a.indices) {
      const int64_t t = tile / hChunks, h0 = g * group + (tile % hChunks) * LT, h1 = std::min(g * group + group, h0 + LT);
      *rows = lists[t].data();
      for (int64_t h = h0; h < h1; h++, nq++) {
        q[nq] = a.q + (t * H + h) * a.dk;
        o[nq] = out + (t * H + h) * a.dv;
        lim[nq] = int32_t(lists[t].size());
      }
    } else {
      *rows = nullptr;
      const int64_t e0 = (tilesPerG - 1 - tile) * LT, e1 = std::min(T * group, e0 + LT);
      for (int64_t e = e0; e < e1; e++, nq++) {
        const int64_t t = e / group, h = g * group + e % group;
        q[nq] = a.q + (t * H + h) * a.dk;
        o[nq] = out + (t * H + h) * a.dv;
        lim[nq] = std::max<int32_t>(0, a.keyLimit[t]);
      }
    }
    return nq;
  };
  parallelFor(items * S, [&](int64_t task, int thread) {
    const int64_t item = task / S, s = task % S;
    const float* q[64];
    float* o[64];
    int32_t lim[64];
    AttnTile tl{};
    tl.q = q;
    tl.lim = lim;
    tl.nq = lanes(item, q, o, lim, &tl.rows);
    const int64_t g = item / tilesPerG;
    tl.j0 = s * chunk, tl.j1 = (s + 1) * chunk;
    tl.dk = a.dk, tl.dv = a.dv, tl.scale = a.scale;
    const int64_t eb = kvBytes(a.kv);
    tl.k = static_cast<const uint8_t*>(a.k) + (a.kOffset + g * a.dk) * eb, tl.kStride = a.kStride;
    tl.v = static_cast<const uint8_t*>(a.v) + (a.vOffset + g * a.dv) * eb, tl.vStride = a.vStride;
    tl.kvBytes = eb;
    if (S == 1) {
      tl.out = o;
    } else {
      float* base = part + (item * S + s) * LN * (a.dv + 2);
      tl.pO = base, tl.pM = base + LN * a.dv, tl.pL = tl.pM + LN;
    }
    k.attn(tl, threadScratch(thread, attnScratch(a.dk, a.dv, LN)));
  });
  if (S == 1) return true;
  parallelFor(items, [&](int64_t item, int) {
    const float* q[64];
    float* o[64];
    int32_t lim[64];
    const int32_t* rows;
    const int64_t nq = lanes(item, q, o, lim, &rows);
    for (int64_t i = 0; i < nq; i++) {
      float M = -INFINITY;
      for (int64_t s = 0; s < S; s++) M = std::max(M, part[((item * S + s) * LN) * (a.dv + 2) + LN * a.dv + i]);
      float* dst = o[i];
      std::fill(dst, dst + a.dv, 0.f);
      if (M == -INFINITY) continue;
      float L = 0;
      for (int64_t s = 0; s < S; s++) {
        const float* base = part + (item * S + s) * LN * (a.dv + 2);
        const float w = std::exp2(base[LN * a.dv + i] - M);
        if (w == 0.f) continue;
        L += w * base[LN * a.dv + LN + i];
        for (int64_t c = 0; c < a.dv; c++) dst[c] += w * base[i * a.dv + c];
      }
      const float inv = L > 0 ? 1.f / L : 0.f;
      for (int64_t c = 0; c < a.dv; c++) dst[c] *= inv;
    }
  });
  return true;
}

}  // namespace glm5

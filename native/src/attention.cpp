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

// One sequence of an attention batch: its arguments with paged keys as lists, its visible keys per row and
// its schedule (lanes per tile, tiles, key-range splits).
struct SeqPlan {
  AttentionArgs a;
  float* out;
  std::vector<std::vector<int32_t>> lists;
  int64_t maxKeys = 0, LT = 0, tilesPerG = 0, items = 0, S = 1, chunk = 0, hChunks = 0;
  int64_t task0 = 0;  // first task of this sequence in the batch schedule
  int64_t part0 = 0;  // first float of its partial results (S > 1)
  bool rows = false;  // the attentionRows path
  bool selected = false;  // a [T, K] selection was given (else: dense, perhaps paged)
};

// Keys of every row (lists for sparse and paged masks) and the first visible key ≥ L of any row (returned
// as false with badKey). Built in parallel over all sequences' rows: a long prompt's rows hold index_topk
// keys each (32K rows x 2048: 64M entries).
static bool listKeys(std::vector<SeqPlan>& seqs, int64_t* badSeq, int64_t* badKey) {
  constexpr int64_t ROWS = 64;
  std::vector<int64_t> first(seqs.size() + 1, 0);
  for (size_t i = 0; i < seqs.size(); i++) first[i + 1] = first[i] + (seqs[i].a.T + ROWS - 1) / ROWS;
  std::vector<std::vector<int64_t>> rowKeys(seqs.size()), rowBad(seqs.size());
  for (size_t i = 0; i < seqs.size(); i++) {
    SeqPlan& sp = seqs[i];
    static const int32_t kListed = 0;
    sp.selected = sp.a.indices != nullptr;
    if (sp.a.table && !sp.a.indices) sp.a.indices = &kListed;
    sp.lists.resize(sp.a.indices ? size_t(sp.a.T) : 0);
    rowKeys[i].assign(size_t(sp.a.T), 0);
    rowBad[i].assign(size_t(sp.a.T), -1);
  }
  parallelFor(first.back(), [&](int64_t task, int) {
    const int64_t i = int64_t(std::upper_bound(first.begin(), first.end(), task) - first.begin()) - 1;
    SeqPlan& sp = seqs[size_t(i)];
    const AttentionArgs& a = sp.a;
    const auto phys = [&](int32_t s) -> int32_t { return a.table ? int32_t(a.table[s / a.blockSize] * a.blockSize + s % a.blockSize) : s; };
    const int64_t t0 = (task - first[size_t(i)]) * ROWS;
    for (int64_t t = t0; t < std::min(a.T, t0 + ROWS); t++) {
      const int32_t lim = a.keyLimit[t];
      int64_t& bad = rowBad[size_t(i)][size_t(t)];
      if (!sp.selected) {
        if (lim > a.L) {
          bad = lim - 1;
          continue;
        }
        rowKeys[size_t(i)][size_t(t)] = lim;
        if (a.table) {
          sp.lists[t].resize(size_t(std::max<int32_t>(lim, 0)));
          for (int32_t s = 0; s < lim; s++) sp.lists[t][size_t(s)] = phys(s);
        }
        continue;
      }
      sp.lists[t].reserve(size_t(std::min<int64_t>(a.K, std::max<int32_t>(lim, 0))));
      for (int64_t j = 0; j < a.K && bad < 0; j++) {
        const int32_t s = a.indices[t * a.K + j];
        if (s >= 0 && s < lim) {
          if (s >= a.L) bad = s;
          else sp.lists[t].push_back(phys(s));
        }
      }
      rowKeys[size_t(i)][size_t(t)] = int64_t(sp.lists[t].size());
    }
  });
  for (size_t i = 0; i < seqs.size(); i++)
    for (int64_t t = 0; t < seqs[i].a.T; t++) {
      if (rowBad[i][size_t(t)] >= 0) return *badSeq = int64_t(i), *badKey = rowBad[i][size_t(t)], false;
      seqs[i].maxKeys = std::max(seqs[i].maxKeys, rowKeys[i][size_t(t)]);
    }
  return true;
}

// Lanes of a sequence's tile `item`: fills q / out / lim pointers and its key list; returns the lane count.
static int64_t tileLanes(const SeqPlan& sp, int64_t item, const float** q, float** o, int32_t* lim, const int32_t** rows) {
  const AttentionArgs& a = sp.a;
  const int64_t H = a.heads, group = H / a.kvHeads;
  const int64_t g = item / sp.tilesPerG, tile = item % sp.tilesPerG;
  int64_t nq = 0;
  if (a.indices) {
    const int64_t t = tile / sp.hChunks, h0 = g * group + (tile % sp.hChunks) * sp.LT, h1 = std::min(g * group + group, h0 + sp.LT);
    *rows = sp.lists[t].data();
    for (int64_t h = h0; h < h1; h++, nq++) {
      q[nq] = a.q + (t * H + h) * a.dk;
      o[nq] = sp.out + (t * H + h) * a.dv;
      lim[nq] = int32_t(sp.lists[t].size());
    }
  } else {
    *rows = nullptr;
    const int64_t e0 = (sp.tilesPerG - 1 - tile) * sp.LT, e1 = std::min(a.T * group, e0 + sp.LT);
    for (int64_t e = e0; e < e1; e++, nq++) {
      const int64_t t = e / group, h = g * group + e % group;
      q[nq] = a.q + (t * H + h) * a.dk;
      o[nq] = sp.out + (t * H + h) * a.dv;
      lim[nq] = std::max<int32_t>(0, a.keyLimit[t]);
    }
  }
  return nq;
}

bool attentionMany(const AttentionArgs* args, float* const* outs, int64_t count, int64_t* badSeq, int64_t* badKey) {
  const int64_t n = poolThreads();
  std::vector<SeqPlan> seqs(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; i++) seqs[size_t(i)].a = args[i], seqs[size_t(i)].out = outs[i];
  if (!listKeys(seqs, badSeq, badKey)) return false;
  const Kernels& k = K();
  const int64_t LN = k.attnLanes;
  // Tiles of up to LN query vectors ("lanes") sharing one kv head and one key list. Dense: the (row, head)
  // pairs of kv head g in order, so a tile spans consecutive rows (causal limits differ per lane). Sparse or
  // paged: the heads of one row (its own key list). Dense tiles go from the longest to the shortest key range,
  // kv head by kv head, so the tail of the schedule is short and consecutive tiles share K/V blocks.
  // Too few tiles in the whole batch for the threads (decode of one sequence): with short key lists (≤ 512
  // keys, cache-resident) the tiles get fewer lanes, each thread reading the same keys for its own heads; with
  // long ones the key list is split instead (S chunks of ≥ one 64-key block, partials merged below), so each
  // key row is read once. A batch of decoding sequences (one call for all of them) keeps whole tiles: on AVX2,
  // 16 MLA heads in one tile ran 1.8x faster than two tiles of 8.
  auto tilesPerGroup = [&](const SeqPlan& sp, int64_t lt) {
    const int64_t group = sp.a.heads / sp.a.kvHeads;
    return sp.a.indices ? sp.a.T * ceilDiv(group, lt) : ceilDiv(sp.a.T * group, lt);
  };
  int64_t fullTiles = 0;
  for (SeqPlan& sp : seqs) {
    sp.rows = sp.a.indices && sp.a.heads / sp.a.kvHeads < 4;
    if (!sp.rows && sp.a.T > 0 && sp.a.heads > 0) fullTiles += sp.a.kvHeads * tilesPerGroup(sp, LN);
  }
  int64_t totalItems = 0;
  for (SeqPlan& sp : seqs) {
    if (sp.rows || sp.a.T == 0 || sp.a.heads == 0) continue;
    const int64_t G = sp.a.kvHeads, group = sp.a.heads / G;
    sp.LT = LN;
    if (n > 1 && fullTiles < n && sp.maxKeys <= 512) {
      const int64_t want = ceilDiv(n, G * (sp.a.indices ? sp.a.T : 1));  // tiles per kv head (per row when sparse)
      sp.LT = std::max<int64_t>(1, ceilDiv(sp.a.indices ? group : sp.a.T * group, want));
    }
    sp.tilesPerG = tilesPerGroup(sp, sp.LT);
    sp.items = G * sp.tilesPerG;
    sp.hChunks = ceilDiv(group, sp.LT);
    totalItems += sp.items;
  }
  int64_t tasks = 0, parts = 0;
  for (SeqPlan& sp : seqs) {
    if (sp.items == 0) continue;
    if (totalItems < 2 * n && n > 1 && sp.LT == LN) sp.S = std::max<int64_t>(1, std::min(ceilDiv(2 * n, totalItems), ceilDiv(sp.maxKeys, ATTN_KB)));
    sp.chunk = roundUp(ceilDiv(std::max<int64_t>(sp.maxKeys, 1), sp.S), ATTN_KB);
    sp.task0 = tasks, sp.part0 = parts;
    tasks += sp.items * sp.S;
    if (sp.S > 1) parts += sp.items * sp.S * LN * (sp.a.dv + 2);
  }
  for (SeqPlan& sp : seqs)
    if (sp.rows) attentionRows(sp.a, sp.lists, sp.out);
  if (tasks == 0) return true;
  static std::vector<float> partBuf;
  float* part = parts ? grown(partBuf, size_t(parts)) : nullptr;
  std::vector<int64_t> starts;  // task0 of the scheduled sequences, for the task → sequence search
  std::vector<SeqPlan*> order;
  for (SeqPlan& sp : seqs)
    if (sp.items) starts.push_back(sp.task0), order.push_back(&sp);
  auto seqOf = [&](int64_t task) { return order[size_t(std::upper_bound(starts.begin(), starts.end(), task) - starts.begin()) - 1]; };
  parallelFor(tasks, [&](int64_t task, int thread) {
    const SeqPlan& sp = *seqOf(task);
    const AttentionArgs& a = sp.a;
    const int64_t item = (task - sp.task0) / sp.S, s = (task - sp.task0) % sp.S;
    const float* q[64];
    float* o[64];
    int32_t lim[64];
    AttnTile tl{};
    tl.q = q;
    tl.lim = lim;
    tl.nq = tileLanes(sp, item, q, o, lim, &tl.rows);
    const int64_t g = item / sp.tilesPerG;
    tl.j0 = s * sp.chunk, tl.j1 = (s + 1) * sp.chunk;
    tl.dk = a.dk, tl.dv = a.dv, tl.scale = a.scale;
    const int64_t eb = kvBytes(a.kv);
    tl.k = static_cast<const uint8_t*>(a.k) + (a.kOffset + g * a.dk) * eb, tl.kStride = a.kStride;
    tl.v = static_cast<const uint8_t*>(a.v) + (a.vOffset + g * a.dv) * eb, tl.vStride = a.vStride;
    tl.kvBytes = eb;
    if (sp.S == 1) {
      tl.out = o;
    } else {
      float* base = part + sp.part0 + (item * sp.S + s) * LN * (a.dv + 2);
      tl.pO = base, tl.pM = base + LN * a.dv, tl.pL = tl.pM + LN;
    }
    k.attn(tl, threadScratch(thread, attnScratch(a.dk, a.dv, LN)));
  });
  if (parts == 0) return true;
  // Merge the key-range splits: items of the split sequences.
  std::vector<int64_t> mstarts;
  std::vector<SeqPlan*> morder;
  int64_t mitems = 0;
  for (SeqPlan* sp : order)
    if (sp->S > 1) mstarts.push_back(mitems), morder.push_back(sp), mitems += sp->items;
  parallelFor(mitems, [&](int64_t m, int) {
    const size_t si = size_t(std::upper_bound(mstarts.begin(), mstarts.end(), m) - mstarts.begin()) - 1;
    const SeqPlan& sp = *morder[si];
    const int64_t item = m - mstarts[si], S = sp.S, dv = sp.a.dv;
    const float* q[64];
    float* o[64];
    int32_t lim[64];
    const int32_t* rows;
    const int64_t nq = tileLanes(sp, item, q, o, lim, &rows);
    for (int64_t i = 0; i < nq; i++) {
      float M = -INFINITY;
      for (int64_t s = 0; s < S; s++) M = std::max(M, part[sp.part0 + ((item * S + s) * LN) * (dv + 2) + LN * dv + i]);
      float* dst = o[i];
      std::fill(dst, dst + dv, 0.f);
      if (M == -INFINITY) continue;
      float L = 0;
      for (int64_t s = 0; s < S; s++) {
        const float* base = part + sp.part0 + (item * S + s) * LN * (dv + 2);
        const float w = std::exp2(base[LN * dv + i] - M);
        if (w == 0.f) continue;
        L += w * base[LN * dv + LN + i];
        for (int64_t c = 0; c < dv; c++) dst[c] += w * base[i * dv + c];
      }
      const float inv = L > 0 ? 1.f / L : 0.f;
      for (int64_t c = 0; c < dv; c++) dst[c] *= inv;
    }
  });
  return true;
}

bool attention(const AttentionArgs& args, float* out, int64_t* badKey) {
  int64_t seq = 0;
  return attentionMany(&args, &out, 1, &seq, badKey);
}

}  // namespace glm5

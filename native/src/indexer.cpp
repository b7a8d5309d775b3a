// The DSA indexer driver: per query row, score every visible cached key and keep the top k (spec §3.4).
// Rows that see ≤ topk keys keep all of them, unscored. Scoring runs over batches of rows into a score
// buffer: few rows read the keys in place (dot products, memory-bound like decode), many rows run as a
// GEMM over key chunks packed once per batch (each chunk's panel serves every row of the batch). Selection
// is linear per row (radix histogram, no sort) and writes the winners in ascending position order.
#include <algorithm>
#include <cstring>
#include <vector>
#include "ops.h"
#include "pool.h"

namespace glm5 {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Order-preserving bits of a score (larger score, larger key); −0 ties with +0 as in the reference.
inline uint32_t orderKey(float v) {
  if (v == 0.f) v = 0.f;
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct SelectScratch {
  std::vector<uint32_t> keys;
  std::vector<uint64_t> edge;
  std::vector<int64_t> hist;
};

// The bin (of `bits` bits at `shift`, among keys whose higher bits equal `prefix`) where the count from the top
// reaches k; adds the counts of the bins above it to *above.
int64_t boundaryBin(const uint32_t* u, int64_t n, int shift, int64_t hiShift, uint32_t prefix, int64_t k, int64_t* above,
                    int64_t* inBin, int64_t* hist) {
  constexpr int64_t NB = 4096;
  std::fill(hist, hist + NB, 0);
  if (hiShift >= 32) {
    for (int64_t s = 0; s < n; s++) hist[(u[s] >> shift) & (NB - 1)]++;
  } else {
    for (int64_t s = 0; s < n; s++)
      if ((u[s] >> hiShift) == prefix) hist[(u[s] >> shift) & (NB - 1)]++;
  }
  int64_t b = NB - 1;
  for (; *above + hist[b] < k; b--) *above += hist[b];
  *inBin = hist[b];
  return b;
}

}  // namespace

void selectTopScores(const float* sc, int64_t n, int64_t k, int32_t* out) {
  if (k <= 0) return;
  if (k >= n) {
    for (int64_t j = 0; j < n; j++) out[j] = int32_t(j);
    return;
  }
  thread_local SelectScratch z;
  uint32_t* u = grown(z.keys, size_t(n));
  int64_t* hist = grown(z.hist, 4096);
  for (int64_t s = 0; s < n; s++) u[s] = orderKey(sc[s]);
  // Level 1: the top 12 bits (sign, exponent, 3 mantissa bits). Scores of one magnitude share few such bins,
  // so a large boundary bin is split again on the next 12 bits before the exact selection.
  int64_t above = 0, inBin = 0;
  uint32_t prefix = uint32_t(boundaryBin(u, n, 20, 32, 0, k, &above, &inBin, hist));
  int shift = 20;
  if (inBin > 4096) {
    const uint32_t b2 = uint32_t(boundaryBin(u, n, 8, 20, prefix, k, &above, &inBin, hist));
    prefix = (prefix << 12) | b2;
    shift = 8;
  }
  // The boundary keys as (score, index) u64 keys; the (k − above)-th best is the exact threshold.
  uint64_t* edge = grown(z.edge, size_t(inBin));
  int64_t ne = 0;
  for (int64_t s = 0; s < n; s++)
    if ((u[s] >> shift) == prefix) edge[ne++] = (uint64_t(u[s]) << 32) | uint64_t(0xffffffffu - uint32_t(s));
  const int64_t need = k - above;
  std::nth_element(edge, edge + (need - 1), edge + ne, std::greater<uint64_t>());
  const uint64_t thr = edge[need - 1];
  for (int64_t s = 0, j = 0; s < n; s++)
    if (((uint64_t(u[s]) << 32) | uint64_t(0xffffffffu - uint32_t(s))) >= thr) out[j++] = int32_t(s);
}

void indexerTopk(const IndexerArgs& a, int32_t* out) {
  const int64_t T = a.T, L = a.L, H = a.heads, D = a.dim, Kk = std::min(a.topk, L);
  std::vector<int64_t> scored;  // rows that need scoring, by ascending key limit (selection writes all Kk entries)
  for (int64_t t = 0; t < T; t++) {
    const int64_t lim = a.keyLimit[t];
    if (lim <= a.topk) {
      const int64_t n = std::max<int64_t>(0, std::min(lim, Kk));
      for (int64_t s = 0; s < n; s++) out[t * Kk + s] = int32_t(s);
      std::fill(out + t * Kk + n, out + (t + 1) * Kk, -1);
    } else {
      scored.push_back(t);
    }
  }
  if (scored.empty()) return;
  const auto limOf = [&](int64_t t) { return std::min<int64_t>(a.keyLimit[t], L); };
  std::stable_sort(scored.begin(), scored.end(), [&](int64_t x, int64_t y) { return limOf(x) < limOf(y); });
  const Kernels& k = K();
  const KeyRows keys{static_cast<const uint8_t*>(a.keys), a.keyScales, a.keyType, D};
  const int64_t hp = ceilDiv(H, k.hpad) * k.hpad, rowB = D * kvBytes(a.keyType), nblk = ceilDiv(D, KV_SCALE_BLOCK);
  const int64_t B = a.table ? a.blockSize : L;
  const auto phys = [&](int64_t s) { return a.table ? int64_t(a.table[s / B]) * B + s % B : s; };
  const int64_t ldo = ceilDiv(L, 16) * 16;
  // Rows are handled in batches so the score buffer stays bounded (≤ 16 M floats); a batch of ≥ GEMM_ROWS
  // rows packs each key chunk once for all of them.
  constexpr int64_t GEMM_ROWS = 8, KC = 256, KEYS = 1024;
  const int64_t batch = std::max<int64_t>(1, std::min<int64_t>(int64_t(scored.size()), (int64_t(1) << 24) / ldo));
  static std::vector<float> qpBuf, wpBuf, scoreBuf;
  float *qpd = grown(qpBuf, size_t(batch * hp * D)), *wpd = grown(wpBuf, size_t(batch * hp)), *scd = grown(scoreBuf, size_t(batch * ldo));
  for (int64_t b0 = 0; b0 < int64_t(scored.size()); b0 += batch) {
    const int64_t nb = std::min(batch, int64_t(scored.size()) - b0);
    // Per row: q [H, D] and the head weights, zero-padded to Hp heads (the kernels' head groups).
    for (int64_t i = 0; i < nb; i++) {
      const int64_t t = scored[b0 + i];
      float* qr = qpd + i * hp * D;
      std::copy(a.q + t * H * D, a.q + (t + 1) * H * D, qr);
      std::fill(qr + H * D, qr + hp * D, 0.f);
      std::fill(wpd + i * hp, wpd + (i + 1) * hp, 0.f);
      for (int64_t h = 0; h < H; h++) wpd[i * hp + h] = a.weights[t * H + h];
    }
    const int64_t maxLim = limOf(scored[b0 + nb - 1]);
    if (nb >= GEMM_ROWS) {
      // Chunk c: keys [c·KC, +KC), scored for the rows that see its first key (a suffix of the batch).
      parallelFor(ceilDiv(maxLim, KC), [&](int64_t c, int thread) {
        const int64_t s0 = c * KC, s1 = std::min(maxLim, s0 + KC);
        int64_t i0 = 0;
        while (limOf(scored[b0 + i0]) <= s0) i0++;
        float* kp = threadScratch(thread, (KC + 64) * D + D);
        int32_t rows[KC];
        for (int64_t s = s0; s < s1; s++) rows[s - s0] = int32_t(phys(s));
        k.indexerPack(keys, rows, s1 - s0, kp, kp + (KC + 64) * D);
        k.indexerScores(qpd + i0 * hp * D, wpd + i0 * hp, nb - i0, hp, kp, D, s1 - s0, a.scale, scd + i0 * ldo + s0, ldo);
      });
    } else {
      const int64_t tasksPerRow = ceilDiv(maxLim, KEYS);
      parallelFor(nb * tasksPerRow, [&](int64_t task, int) {
        const int64_t i = task / tasksPerRow, lim = limOf(scored[b0 + i]);
        const int64_t s0 = (task % tasksPerRow) * KEYS, s1 = std::min(lim, s0 + KEYS);
        // One kernel call per block segment (paged keys), reading the block's rows in place.
        for (int64_t s = s0; s < s1;) {
          const int64_t e = std::min(s1, (s / B + 1) * B), r0 = phys(s);
          const KeyRows seg{keys.data + r0 * rowB, keys.scales ? keys.scales + r0 * nblk : nullptr, keys.type, D};
          k.indexer(qpd + i * hp * D, wpd + i * hp, hp, seg, 0, e - s, a.scale, scd + i * ldo + s);
          s = e;
        }
      });
    }
    parallelFor(nb, [&](int64_t i, int) {
      const int64_t t = scored[b0 + i];
      selectTopScores(scd + i * ldo, limOf(t), Kk, out + t * Kk);
    });
  }
}

}  // namespace glm5

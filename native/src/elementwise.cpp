// SiLU-mul, add, softmax (f64 like the reference), top-k by partial selection.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"
#include "pool.h"

namespace glm5 {

static constexpr int64_t CHUNK = 1 << 16;

void siluMul(const float* gate, const float* up, int64_t n, float* y) {
  parallelFor((n + CHUNK - 1) / CHUNK, [&](int64_t task, int) {
    const int64_t i0 = task * CHUNK;
    K().siluMul(gate + i0, up + i0, std::min(n, i0 + CHUNK) - i0, y + i0);
  });
}

void addInPlace(float* a, const float* b, int64_t n) {
  parallelFor((n + CHUNK - 1) / CHUNK, [&](int64_t task, int) {
    for (int64_t i = task * CHUNK; i < std::min(n, (task + 1) * CHUNK); i++) a[i] += b[i];
  });
}

void softmax(float* x, int64_t T, int64_t N) {
  const int64_t per = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, N));
  parallelFor((T + per - 1) / per, [&](int64_t task, int) {
    for (int64_t t = task * per; t < std::min(T, (task + 1) * per); t++) {
      float* r = x + t * N;
      double m = -INFINITY, s = 0;
      for (int64_t i = 0; i < N; i++) m = std::max(m, double(r[i]));
      for (int64_t i = 0; i < N; i++) s += std::exp(double(r[i]) - m);
      for (int64_t i = 0; i < N; i++) r[i] = float(std::exp(double(r[i]) - m) / s);
    }
  });
}

void selectTopk(uint64_t* keys, int64_t n, int64_t k, int32_t* out) {
  if (k <= 0) return;
  if (k < n) std::nth_element(keys, keys + (k - 1), keys + n, std::greater<uint64_t>());
  std::sort(keys, keys + k, std::greater<uint64_t>());
  for (int64_t j = 0; j < k; j++) out[j] = int32_t(0xffffffffu - uint32_t(keys[j] & 0xffffffffu));
}

void selectTopkSet(uint64_t* keys, int64_t n, int64_t k, int32_t* out) {
  if (k <= 0) return;
  if (k >= n) {
    for (int64_t j = 0; j < n; j++) out[j] = int32_t(j);
    return;
  }
  // Radix select on the score half of the keys (top 12 bits, 4096 bins): the bins above the k-th key's bin
  // are chosen whole; only the boundary bin's keys are ordered (nth_element). Two linear passes instead of
  // an nth_element over all n (64K keys: ~530 µs).
  constexpr int BITS = 12;
  constexpr int SHIFT = 64 - BITS;
  thread_local std::vector<int64_t> histBuf;
  thread_local std::vector<uint64_t> edgeBuf;
  thread_local std::vector<uint8_t> chosenBuf;
  int64_t* hist = grown(histBuf, size_t(1) << BITS);
  std::fill(hist, hist + (int64_t(1) << BITS), 0);
  for (int64_t s = 0; s < n; s++) hist[keys[s] >> SHIFT]++;
  int64_t b = (int64_t(1) << BITS) - 1, above = 0;
  for (; above + hist[b] < k; b--) above += hist[b];
  // Keys of bin b, the best (k - above) of them chosen.
  uint64_t* edge = grown(edgeBuf, size_t(hist[b]));
  int64_t ne = 0;
  for (int64_t s = 0; s < n; s++)
    if (int64_t(keys[s] >> SHIFT) == b) edge[ne++] = keys[s];
  const int64_t need = k - above;
  if (need < ne) std::nth_element(edge, edge + (need - 1), edge + ne, std::greater<uint64_t>());
  uint8_t* chosen = grown(chosenBuf, size_t(n));
  for (int64_t s = 0; s < n; s++) chosen[s] = int64_t(keys[s] >> SHIFT) > b;
  for (int64_t j = 0; j < need; j++) chosen[0xffffffffu - uint32_t(edge[j] & 0xffffffffu)] = 1;
  for (int64_t s = 0, j = 0; s < n; s++)
    if (chosen[s]) out[j++] = int32_t(s);
}

void topk(const float* x, int64_t T, int64_t N, int64_t k, int32_t* out) {
  const int64_t per = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, N));
  parallelFor((T + per - 1) / per, [&](int64_t task, int) {
    std::vector<uint64_t> keys(N);
    for (int64_t t = task * per; t < std::min(T, (task + 1) * per); t++) {
      for (int64_t i = 0; i < N; i++) keys[i] = topkKey(x[t * N + i], int32_t(i));
      selectTopk(keys.data(), N, k, out + t * k);
    }
  });
}

}  // namespace glm5

namespace glm5 {

void copyBlocks(const float* src, int64_t srs, int64_t sbs, float* dst, int64_t drs, int64_t dbs, int64_t rows,
                int64_t blocks, int64_t n) {
  const int64_t per = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, blocks * n));  // rows per task
  parallelFor((rows + per - 1) / per, [&](int64_t task, int) {
    for (int64_t r = task * per; r < std::min(rows, (task + 1) * per); r++)
      for (int64_t b = 0; b < blocks; b++) std::copy(src + r * srs + b * sbs, src + r * srs + b * sbs + n, dst + r * drs + b * dbs);
  });
}

}  // namespace glm5

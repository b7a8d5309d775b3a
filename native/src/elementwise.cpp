// SiLU-mul, add, softmax (f64 like the reference), top-k by partial selection.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"
#include "pool.h"
#include "simd/convert.h"

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

void readCache(const void* data, Kv t, int64_t width, int64_t L, int64_t from, int64_t n, const int32_t* table, int64_t B,
               float* out) {
  constexpr int64_t ROWS = 256;  // rows per task
  parallelFor((L + ROWS - 1) / ROWS, [&](int64_t task, int) {
    for (int64_t s = task * ROWS; s < std::min(L, (task + 1) * ROWS); s++) {
      const int64_t r = table ? int64_t(table[s / B]) * B + s % B : s;
      float* o = out + s * n;
      if (t == Kv::F32) {
        std::copy_n(static_cast<const float*>(data) + r * width + from, n, o);
      } else {
        const uint16_t* p = static_cast<const uint16_t*>(data) + r * width + from;
        for (int64_t i = 0; i < n; i++) o[i] = bf16ToF32(p[i]);
      }
    }
  });
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

// MoE expert compute. Decode (T = 1): all experts' gate/up rows in one parallelFor, then down rows.
// Prefill: pairs grouped by expert, one parallel schedule over all experts' gemm work items per stage.
#include <algorithm>
#include <cmath>
#include <vector>
#include "ops.h"
#include "pool.h"

namespace glm5 {

// One token (decode): every routed expert's gate/up rows in one parallelFor, then the down rows in another
// (each task owns a row range of the output and sums over the experts), instead of expert after expert.
static void moeToken(const MoeArgs& a, float* out) {
  const int64_t D = a.D, k = a.k, n = poolThreads();
  const Kernels& K_ = K();
  const int64_t I = a.experts[3 * a.ids[0]].rows;
  std::vector<float> gu(2 * k * I), h(k * I);
  const int64_t serial = 3 * k * I * D < (1 << 15);
  {
    const int64_t chunk = serial ? I : std::max<int64_t>(16, (I * 2 * k / (4 * n) + 15) / 16 * 16);
    const int64_t nc = (I + chunk - 1) / chunk;
    parallelFor(2 * k * nc, [&](int64_t task, int) {
      const int64_t m = task / nc, r0 = (task % nc) * chunk, r1 = std::min(I, r0 + chunk);
      const WeightRef& w = a.experts[3 * a.ids[m / 2] + (m % 2)];
      K_.gemv(w, a.x, gu.data() + m * I + r0, r0, r1);
    });
  }
  for (int64_t j = 0; j < k; j++) K_.siluMul(gu.data() + 2 * j * I, gu.data() + (2 * j + 1) * I, I, h.data() + j * I);
  const int64_t chunk = serial ? D : std::max<int64_t>(16, (D / (4 * n) + 15) / 16 * 16);
  parallelFor((D + chunk - 1) / chunk, [&](int64_t task, int) {
    const int64_t r0 = task * chunk, r1 = std::min(D, r0 + chunk);
    float tmp[4096];
    std::fill(out + r0, out + r1, 0.f);
    for (int64_t q0 = r0; q0 < r1; q0 += 4096) {
      const int64_t q1 = std::min(r1, q0 + 4096);
      for (int64_t j = 0; j < k; j++) {
        K_.gemv(a.experts[3 * a.ids[j] + 2], h.data() + j * I, tmp, q0, q1);
        const float wgt = a.weights[j];
        for (int64_t r = q0; r < q1; r++) out[r] += wgt * tmp[r - q0];
      }
    }
  });
}

// Buffers reused across calls (moe is only entered from the JS thread): fresh pages cost a fault each.
static std::vector<float>& scratchVec(int i, size_t n) {
  static std::vector<float> bufs[3];
  if (bufs[i].size() < n) bufs[i].resize(n);
  return bufs[i];
}

// Several tokens (prefill): the T·k (token, expert) pairs sorted by expert, their token rows gathered
// into one panel xg. Then one parallel schedule over every (expert, gate|up, row chunk, token chunk)
// work item (the register-blocked gemm over that expert's gathered rows), siluMul over all of it, one
// schedule over (expert, down row chunk, token chunk) writing one output row per pair, and a per-token
// reduction of the k weighted rows (each task owns its tokens: no races, no atomics).
static void moeBatch(const MoeArgs& a, float* out) {
  const int64_t T = a.T, D = a.D, k = a.k, E = a.E, P = T * k, nt = poolThreads();
  const Kernels& K_ = K();
  std::vector<int64_t> cnt(E + 1, 0), off(E + 1, 0), hoff(E + 1, 0), pos(P), order(P);
  for (int64_t p = 0; p < P; p++) cnt[a.ids[p]]++;
  for (int64_t e = 0; e < E; e++) off[e + 1] = off[e] + cnt[e], hoff[e + 1] = hoff[e] + cnt[e] * a.experts[3 * e].rows;
  {
    std::vector<int64_t> fill(off.begin(), off.end() - 1);
    for (int64_t p = 0; p < P; p++) pos[p] = fill[a.ids[p]]++, order[pos[p]] = p;
  }
  float* xg = scratchVec(0, size_t(P * D)).data();
  float* gu = scratchVec(1, size_t(2 * hoff[E])).data();  // gate rows, then up rows (same layout)
  float* yb = scratchVec(2, size_t(P * D)).data();
  float* gb = gu;
  float* ub = gu + hoff[E];
  const int64_t GCH = 64;  // pairs per gather / reduction task
  parallelFor((P + GCH - 1) / GCH, [&](int64_t i, int) {
    for (int64_t s = i * GCH; s < std::min(P, (i + 1) * GCH); s++) {
      const float* src = a.x + (order[s] / k) * D;
      std::copy(src, src + D, xg + s * D);
    }
  });
  struct Item { int64_t e, m, r0, r1, t0, t1; };
  std::vector<Item> items;
  // Token chunks of ≤ 128 rows (multiples of 12); row chunks sized for ≥ ~8 tasks per thread overall.
  auto plan = [&](int64_t mats, auto rowsOf, int64_t quant) {
    items.clear();
    int64_t totalRows = 0;
    for (int64_t e = 0; e < E; e++) if (cnt[e]) totalRows += mats * rowsOf(e);
    const int64_t target = std::max<int64_t>(quant, (totalRows / (8 * nt) + quant - 1) / quant * quant);
    for (int64_t e = 0; e < E; e++) {
      const int64_t n = cnt[e];
      if (!n) continue;
      const int64_t nT = (n + 127) / 128, tc = ((n + nT - 1) / nT + 11) / 12 * 12;
      const int64_t rows = rowsOf(e), rc = std::min<int64_t>(std::max<int64_t>(target, quant), 256);
      for (int64_t t0 = 0; t0 < n; t0 += tc)
        for (int64_t m = 0; m < mats; m++)
          for (int64_t r0 = 0; r0 < rows; r0 += rc) items.push_back({e, m, r0, std::min(rows, r0 + rc), t0, std::min(n, t0 + tc)});
    }
  };
  plan(2, [&](int64_t e) { return a.experts[3 * e].rows; }, 16);
  parallelFor(int64_t(items.size()), [&](int64_t i, int thread) {
    const Item& it = items[i];
    const int64_t I = a.experts[3 * it.e].rows;
    K_.gemm(a.experts[3 * it.e + it.m], xg + off[it.e] * D, D, (it.m ? ub : gb) + hoff[it.e], I, it.t0, it.t1, it.r0, it.r1,
            threadScratch(thread, GEMM_SCRATCH));
  });
  siluMul(gb, ub, hoff[E], gb);
  plan(1, [&](int64_t) { return D; }, 16);
  parallelFor(int64_t(items.size()), [&](int64_t i, int thread) {
    const Item& it = items[i];
    const int64_t I = a.experts[3 * it.e].rows;
    if (I == 0) {  // an empty intermediate contributes zero
      for (int64_t t = it.t0; t < it.t1; t++) std::fill(yb + (off[it.e] + t) * D + it.r0, yb + (off[it.e] + t) * D + it.r1, 0.f);
      return;
    }
    K_.gemm(a.experts[3 * it.e + 2], gb + hoff[it.e], I, yb + off[it.e] * D, D, it.t0, it.t1, it.r0, it.r1,
            threadScratch(thread, GEMM_SCRATCH));
  });
  const int64_t TCH = std::max<int64_t>(1, GCH / k);
  parallelFor((T + TCH - 1) / TCH, [&](int64_t i, int) {
    for (int64_t t = i * TCH; t < std::min(T, (i + 1) * TCH); t++) {
      float* o = out + t * D;
      std::fill(o, o + D, 0.f);
      for (int64_t j = 0; j < k; j++) {
        const float wgt = a.weights[t * k + j];
        const float* yr = yb + pos[t * k + j] * D;
        for (int64_t c = 0; c < D; c++) o[c] += wgt * yr[c];
      }
    }
  });
}

void moe(const MoeArgs& a, float* out) {
  if (a.T == 1 && a.k > 0) {
    bool same = true;  // the fused path needs one intermediate width
    for (int64_t j = 0; j < a.k; j++) same = same && a.experts[3 * a.ids[j]].rows == a.experts[3 * a.ids[0]].rows;
    if (same) return moeToken(a, out);
  }
  if (a.T == 0 || a.D == 0) return;
  if (a.k == 0) return std::fill(out, out + a.T * a.D, 0.f);
  moeBatch(a, out);
}

}  // namespace glm5

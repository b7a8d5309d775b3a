// MoE expert compute. Decode (T = 1): one parallelFor over all experts' gate/up then down matrices, with
// per-expert readiness instead of a barrier. Prefill: pairs grouped by expert, one parallel schedule over
// all experts' gemm work items per stage.
#include <algorithm>
#include <atomic>
#include <memory>
#include <cmath>
#include <vector>
#include "ops.h"
#include "panel.h"
#include "pool.h"

namespace glm5 {

// One token (decode): one parallelFor over every routed expert's gate/up matrices and then its down rows,
// each task one contiguous stretch of one matrix (a task start is a cold read, so long ones). No barrier
// between the phases: the task that completes an expert's gate/up computes its h = silu(g)·u and
// publishes it; a down task (handed out after every gate/up task) waits only if its expert's last gate/up
// piece is still running on the other thread. Down tasks are half matrices, so the tail is short.
static void moeToken(const MoeArgs& a, float* out) {
  const int64_t D = a.D, k = a.k;
  const Kernels& K_ = K();
  const int64_t I = a.experts[3 * a.ids[0]].rows;
  static std::vector<float> guBuf, hBuf, yBuf;
  float *gu = grown(guBuf, size_t(2 * k * I)), *h = grown(hBuf, size_t(k * I)), *y = grown(yBuf, size_t(k * D));
  const bool serial = 3 * k * I * D < (1 << 15);
  const int64_t pd = serial ? 1 : std::max<int64_t>(1, std::min<int64_t>(2, D / 64)), cd = (D + pd - 1) / pd;
  const int64_t nUp = 2 * k, nDown = k * pd;
  // Per expert: gate/up tasks done, h ready (grown-only, like the buffers: no allocation per call).
  static std::unique_ptr<std::atomic<int>[]> flags;
  static int64_t flagCap = 0;
  if (flagCap < 2 * k) flags.reset(new std::atomic<int>[2 * k]), flagCap = 2 * k;
  std::atomic<int>*upDone = flags.get(), *ready = flags.get() + k;
  for (int64_t j = 0; j < k; j++) upDone[j].store(0, std::memory_order_relaxed), ready[j].store(0, std::memory_order_relaxed);
  parallelFor(nUp + nDown, [&](int64_t task, int) {
    if (task < nUp) {
      const int64_t j = task / 2;
      K_.gemv(a.experts[3 * a.ids[j] + (task % 2)], a.x, gu + task * I, 0, I);
      if (upDone[j].fetch_add(1, std::memory_order_acq_rel) == 1) {
        K_.siluMul(gu + 2 * j * I, gu + (2 * j + 1) * I, I, h + j * I);
        ready[j].store(1, std::memory_order_release);
      }
      return;
    }
    const int64_t j = (task - nUp) / pd, r0 = ((task - nUp) % pd) * cd, r1 = std::min(D, r0 + cd);
    spinUntil([&] { return ready[j].load(std::memory_order_acquire); });
    K_.gemv(a.experts[3 * a.ids[j] + 2], h + j * I, y + j * D + r0, r0, r1);
  });
  for (int64_t r = 0; r < D; r++) out[r] = 0.f;
  for (int64_t j = 0; j < k; j++) {
    const float wgt = a.weights[j], *yj = y + j * D;
    for (int64_t r = 0; r < D; r++) out[r] += wgt * yj[r];
  }
}

// Buffers reused across calls (moe is only entered from the JS thread): fresh pages cost a fault each.
static std::vector<float>& scratchVec(int i, size_t n) {
  static std::vector<float> bufs[3];
  if (bufs[i].size() < n) bufs[i].resize(n);
  return bufs[i];
}

// Several tokens (prefill): the T·k (token, expert) pairs sorted by expert and gathered into token panels
// (panel.h), each expert's pairs in panels of their own. Stage 1: one parallel schedule over every (expert,
// panel, gate|up, row chunk) item, writing gate / up in panel layout [rows][TP]; stage 2: siluMul over all
// of it, in place, which is the panel input of stage 3: one schedule over (expert, panel, down row chunk)
// writing one output row per pair; stage 4: a per-token reduction of the k weighted rows (each task owns
// its tokens: no races, no atomics).
static void moeBatch(const MoeArgs& a, float* out) {
  const int64_t T = a.T, D = a.D, k = a.k, E = a.E, P = T * k, nt = poolThreads();
  const Kernels& K_ = K();
  const int64_t TP = K_.panelTokens;
  // cnt / off: pairs per expert and where they start in sorted order; pb: first panel; hq: gate/up offset.
  std::vector<int64_t> cnt(E + 1, 0), off(E + 1, 0), pb(E + 1, 0), hq(E + 1, 0), pos(P), tok(P);
  for (int64_t p = 0; p < P; p++) cnt[a.ids[p]]++;
  for (int64_t e = 0; e < E; e++) {
    const int64_t nb = (cnt[e] + TP - 1) / TP;
    off[e + 1] = off[e] + cnt[e];
    pb[e + 1] = pb[e] + nb;
    hq[e + 1] = hq[e] + nb * a.experts[3 * e].rows * TP;
  }
  {
    std::vector<int64_t> fill(off.begin(), off.end() - 1);
    for (int64_t p = 0; p < P; p++) pos[p] = fill[a.ids[p]]++, tok[pos[p]] = p / k;
  }
  const int64_t NP = pb[E];
  std::vector<int64_t> expertOf(NP);
  for (int64_t e = 0; e < E; e++)
    for (int64_t b = pb[e]; b < pb[e + 1]; b++) expertOf[b] = e;
  // Panel q of expert e holds its pairs off[e] + (q - pb[e])·TP + lane.
  auto lanes = [&](int64_t q) { const int64_t e = expertOf[q]; return std::min(TP, cnt[e] - (q - pb[e]) * TP); };
  auto first = [&](int64_t q) { const int64_t e = expertOf[q]; return off[e] + (q - pb[e]) * TP; };
  float* xg = scratchVec(0, size_t(NP * D * TP)).data();
  float* gu = scratchVec(1, size_t(2 * hq[E])).data();  // gate panels, then up panels (same layout)
  float* yb = scratchVec(2, size_t(P * D)).data();
  float* gb = gu;
  float* ub = gu + hq[E];
  // Panels of at most dotTokens pairs (most routed experts' at short prompts) with unscaled weights take
  // dot-product tiles from row-major data instead: x rows directly, gate / up / h as [pair][rows] inside the
  // panel's own region (siluMul is elementwise, so it does not mind the layout).
  auto small = [&](int64_t q) { return lanes(q) <= K_.dotTokens && dotFormat(a.experts[3 * expertOf[q]].fmt); };
  // int4 experts multiply activations rounded per 32 columns: their x panels here, their h panels after siluMul.
  auto rounds = [&](int64_t q, int m) { return roundsActivations(a.experts[3 * expertOf[q] + m].fmt); };
  parallelFor(NP, [&](int64_t q, int) {
    if (small(q)) return;
    fillPanel(a.x, D, tok.data() + first(q), lanes(q), TP, 0, D, xg + q * D * TP);
    if (rounds(q, 0)) roundPanelQ8(xg + q * D * TP, D, lanes(q), TP);
  });
  // Work groups: an expert's panels together (they share each converted weight strip, kernels_impl.h),
  // except a short last panel, which takes the dot-product path on its own.
  struct Group { int64_t q, nq; };
  std::vector<Group> groups;
  for (int64_t e = 0; e < E; e++) {
    const int64_t nb = pb[e + 1] - pb[e];
    if (nb == 0) continue;
    const bool lastSmall = small(pb[e + 1] - 1);
    if (nb > 1 || !lastSmall) groups.push_back({pb[e], nb - (lastSmall ? 1 : 0)});
    if (lastSmall) groups.push_back({pb[e + 1] - 1, 1});
  }
  // Pairs in a group (only its last panel can be short).
  auto groupLanes = [&](const Group& g) { return (g.nq - 1) * TP + lanes(g.q + g.nq - 1); };
  struct Item { int64_t g, m, r0, r1; };
  std::vector<Item> items;
  // Row chunks as long as possible while the schedule keeps ≥ ~8 items per thread.
  auto plan = [&](int64_t mats, auto rowsOf) {
    items.clear();
    int64_t totalRows = 0;
    for (const Group& g : groups) totalRows += mats * rowsOf(expertOf[g.q]);
    const int64_t rc = std::min<int64_t>(512, std::max<int64_t>(32, (totalRows / (8 * nt) + 15) / 16 * 16));
    for (int64_t gi = 0; gi < int64_t(groups.size()); gi++)
      for (int64_t m = 0; m < mats; m++)
        for (int64_t r0 = 0, rows = rowsOf(expertOf[groups[gi].q]); r0 < rows; r0 += rc) items.push_back({gi, m, r0, std::min(rows, r0 + rc)});
  };
  auto hPanel = [&](float* base, int64_t q) {
    const int64_t e = expertOf[q];
    return base + hq[e] + (q - pb[e]) * a.experts[3 * e].rows * TP;
  };
  plan(2, [&](int64_t e) { return a.experts[3 * e].rows; });
  parallelFor(int64_t(items.size()), [&](int64_t i, int thread) {
    const Item& it = items[i];
    const Group& g = groups[it.g];
    const WeightRef& w = a.experts[3 * expertOf[g.q] + it.m];
    if (small(g.q)) {
      const float* xr[64];
      for (int64_t l = 0; l < lanes(g.q); l++) xr[l] = a.x + tok[first(g.q) + l] * D;
      K_.gemmDot(w, xr, lanes(g.q), hPanel(it.m ? ub : gb, g.q), w.rows, 1, it.r0, it.r1);
      return;
    }
    K_.gemmPanel(w, xg + g.q * D * TP, groupLanes(g), g.nq * TP, hPanel(it.m ? ub : gb, g.q), 1, TP, w.rows * TP, it.r0, it.r1,
                 threadScratch(thread, GEMM_SCRATCH));
  });
  siluMul(gb, ub, hq[E], gb);
  parallelFor(NP, [&](int64_t q, int) {
    if (!small(q) && rounds(q, 2)) roundPanelQ8(hPanel(gb, q), a.experts[3 * expertOf[q]].rows, lanes(q), TP);
  });
  plan(1, [&](int64_t) { return D; });
  parallelFor(int64_t(items.size()), [&](int64_t i, int thread) {
    const Item& it = items[i];
    const Group& g = groups[it.g];
    const WeightRef& w = a.experts[3 * expertOf[g.q] + 2];
    if (small(g.q)) {
      const float* hr[64];
      for (int64_t l = 0; l < lanes(g.q); l++) hr[l] = hPanel(gb, g.q) + l * w.cols;
      K_.gemmDot(w, hr, lanes(g.q), yb + first(g.q) * D, D, 1, it.r0, it.r1);
      return;
    }
    const int64_t n = groupLanes(g);
    K_.gemmPanel(w, hPanel(gb, g.q), n, n, yb + first(g.q) * D, D, 1, TP * D, it.r0, it.r1, threadScratch(thread, GEMM_SCRATCH));
  });
  const int64_t TCH = std::max<int64_t>(1, 64 / k);
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

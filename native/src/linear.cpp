// matmul / matmulT / gatherRows: split the output over the pool, call the active kernels.
#include <algorithm>
#include <vector>
#include "ops.h"
#include "panel.h"
#include "pool.h"
#include "simd/convert.h"

namespace glm5 {

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// Below this many weight elements x tokens a product runs on the calling thread only.
static constexpr int64_t SERIAL_WORK = 1 << 15;

// Panel storage for matmul / headMatmul (entered from the JS thread only): grown, never shrunk, so
// repeated calls take no page faults. Buffer 1 holds rounded panels for int4 weights beside unrounded ones.
static float* panelBuffer(int64_t floats, int which = 0) {
  static std::vector<float> buf[2];
  if (int64_t(buf[which].size()) < floats) buf[which].resize(size_t(floats));
  return buf[which].data();
}

// Fills `panels` panels of width K in parallel, split along k as well when there are few panels.
template <class Fill>
static void fillPanels(int64_t panels, int64_t K, bool serial, const Fill& fill) {
  const int64_t nk = serial ? 1 : std::max<int64_t>(1, std::min(ceilDiv(4 * poolThreads(), panels), ceilDiv(K, 64)));
  const int64_t kc = roundUp(ceilDiv(K, nk), 16);
  parallelFor(panels * ceilDiv(K, kc), [&](int64_t i, int) {
    const int64_t nkc = ceilDiv(K, kc), b = i / nkc, k0 = (i % nkc) * kc;
    fill(b, k0, std::min(K, k0 + kc));
  });
}

void matmul(const WeightRef& w, const float* x, int64_t T, float* y) { matmulMany(&w, 1, x, T, &y); }

void matmulMany(const WeightRef* ws, int64_t nw, const float* x, int64_t T, float* const* ys) {
  const int64_t n = poolThreads();
  const Kernels& k = K();
  if (T == 0 || nw == 0) return;
  const int64_t cols = ws[0].cols;
  int64_t rows = 0;  // all weights' rows, end to end
  for (int64_t i = 0; i < nw; i++) rows += ws[i].rows;
  if (rows == 0) return;
  if (cols == 0) {
    for (int64_t i = 0; i < nw; i++) std::fill(ys[i], ys[i] + T * ws[i].rows, 0.f);
    return;
  }
  const bool serial = rows * cols * T < SERIAL_WORK;
  // Tasks are row ranges of one weight: each weight is cut into ceil(rows_i / chunk) pieces.
  struct Piece { int64_t w, r0, r1; };
  std::vector<Piece> pieces;
  auto cut = [&](int64_t chunk) {
    for (int64_t i = 0; i < nw; i++)
      for (int64_t r0 = 0; r0 < ws[i].rows; r0 += chunk) pieces.push_back({i, r0, std::min(ws[i].rows, r0 + chunk)});
  };
  if (T == 1) {
    // Decode: memory bound; about one contiguous row range per thread over all weights (every piece start
    // is a cold stream, so few and long is best), a little finer for balance when the total is large.
    cut(serial ? rows : std::max<int64_t>(16, roundUp(ceilDiv(rows, n), 4)));
    parallelFor(int64_t(pieces.size()), [&](int64_t i, int) {
      const Piece& p = pieces[i];
      k.gemv(ws[p.w], x, ys[p.w] + p.r0, p.r0, p.r1);
    });
    return;
  }
  // A few tokens (≤ dotTokens, e.g. speculative verification, short chunks): dot-product tiles straight from
  // the row-major x, when every weight's format has them.
  bool dot = T <= k.dotTokens;
  for (int64_t i = 0; i < nw; i++) dot = dot && dotFormat(ws[i].fmt);
  if (dot) {
    const float* xr[64];
    for (int64_t t = 0; t < T; t++) xr[t] = x + t * cols;
    cut(serial ? rows : std::max<int64_t>(16, roundUp(ceilDiv(rows, 4 * n), 16)));
    parallelFor(int64_t(pieces.size()), [&](int64_t i, int) {
      const Piece& p = pieces[i];
      k.gemmDot(ws[p.w], xr, T, ys[p.w], ws[p.w].rows, 1, p.r0, p.r1);
    });
    return;
  }
  // Prefill: x as token panels (one transpose pass, shared by every weight), then (panel, piece) tasks,
  // panel-major so that consecutive tasks share a panel; pieces as long as the task count allows.
  const int64_t TP = k.panelTokens, nb = ceilDiv(T, TP);
  float* P = panelBuffer(nb * TP * cols);
  fillPanels(nb, cols, serial, [&](int64_t b, int64_t k0, int64_t k1) {
    fillPanel(x + b * TP * cols, cols, nullptr, std::min(TP, T - b * TP), TP, k0, k1, P + b * cols * TP);
  });
  // int4 weights multiply activations rounded per 32 columns (roundPanelQ8): in place when every weight is int4,
  // else in a copy.
  int64_t rounding = 0;
  for (int64_t i = 0; i < nw; i++) rounding += roundsActivations(ws[i].fmt);
  float* PQ = rounding == nw ? P : rounding ? panelBuffer(nb * TP * cols, 1) : nullptr;
  if (PQ) parallelFor(nb, [&](int64_t b, int) {
    if (PQ != P) std::copy(P + b * cols * TP, P + (b + 1) * cols * TP, PQ + b * cols * TP);
    roundPanelQ8(PQ + b * cols * TP, cols, std::min(TP, T - b * TP), TP);
  });
  // (panel group, piece) tasks. A group's panels share each converted weight strip (kernels_impl.h), so
  // rows are split first (≥ 4 tasks per thread, pieces ≥ 16 rows) and panels only when rows run out.
  const int64_t nR = serial ? 1 : std::min(ceilDiv(rows, 16), 4 * n);
  cut(std::max<int64_t>(16, roundUp(ceilDiv(rows, nR), 16)));
  const int64_t np = int64_t(pieces.size());
  const int64_t per = ceilDiv(nb, serial ? 1 : std::min(nb, ceilDiv(4 * n, np)));  // panels per task
  parallelFor(ceilDiv(nb, per) * np, [&](int64_t i, int thread) {
    const int64_t b = (i / np) * per, nt = std::min(per * TP, T - b * TP);
    const Piece& p = pieces[i % np];
    const int64_t wr = ws[p.w].rows;
    const float* Pw = roundsActivations(ws[p.w].fmt) ? PQ : P;
    k.gemmPanel(ws[p.w], Pw + b * cols * TP, nt, nt, ys[p.w] + b * TP * wr, wr, 1, TP * wr, p.r0, p.r1, threadScratch(thread, GEMM_SCRATCH));
  });
}

void matmulT(const WeightRef& w, const float* x, int64_t T, float* y) {
  const int64_t rows = w.rows, cols = w.cols, n = poolThreads();
  const Kernels& k = K();
  if (cols == 0 || T == 0) return;
  if (rows == 0) {
    for (int64_t i = 0; i < T * cols; i++) y[i] = 0.f;
    return;
  }
  const bool serial = rows * cols * T < SERIAL_WORK;
  const int64_t chunk = serial ? roundUp(cols, 64) : std::max<int64_t>(64, roundUp(ceilDiv(cols, 2 * n), 64));
  const int64_t nC = ceilDiv(cols, chunk);
  if (T == 1) {
    parallelFor(nC, [&](int64_t i, int) { k.gemvT(w, x, y, i * chunk, std::min(cols, (i + 1) * chunk)); });
    return;
  }
  const int64_t nT = serial ? 1 : std::min(ceilDiv(T, 12), ceilDiv(4 * n, nC));
  const int64_t tokChunk = roundUp(ceilDiv(T, nT), 12);
  parallelFor(nC * ceilDiv(T, tokChunk), [&](int64_t i, int) {
    const int64_t c0 = (i % nC) * chunk, c1 = std::min(cols, c0 + chunk);
    const int64_t t0 = (i / nC) * tokChunk, t1 = std::min(T, t0 + tokChunk);
    k.gemmT(w, x, rows, y, cols, t0, t1, c0, c1);
  });
}

void headMatmul(const HeadMatmulArgs& a, float* y) {
  const WeightRef& w = a.w;
  const int64_t T = a.T, H = a.heads, n = a.n, cols = w.cols, nt = poolThreads();
  const int64_t outW = a.transposed ? cols : n, inW = a.transposed ? n : cols;
  if (T == 0 || H == 0 || outW == 0) return;
  if (inW == 0) {
    for (int64_t i = 0; i < T * H * outW; i++) y[i] = 0.f;
    return;
  }
  const Kernels& k = K();
  const float* x0 = a.x + a.xOffset;
  const int64_t ldx = H * a.xStride, ldy = H * outW;
  auto head = [&](int64_t h) { return w.sliceRows(h * a.headRows + a.rowStart, n); };
  const bool serial = H * n * cols * T < SERIAL_WORK;
  // Output chunk (rows of W_h, or columns for the transposed product): enough tasks for ~4 per thread
  // together with the heads, multiples of 16 rows / 64 columns.
  const int64_t want = serial ? 1 : ceilDiv(4 * nt, H);
  const int64_t quant = a.transposed ? 64 : 16;
  const int64_t chunk = serial ? roundUp(outW, quant) : std::max<int64_t>(quant, roundUp(ceilDiv(outW, want), quant));
  const int64_t nC = ceilDiv(outW, chunk);
  if (T > 1 && T <= 4) {
    // A few tokens (speculative verification, several decoders): one decode pass per token. The per-token
    // passes stream kv_b at full bandwidth (its second read mostly from L3); the panel / gemmT paths
    // padded to their token tiles were measured 1.5-2x slower here (T = 2: 0.37 vs 0.2 ms per call).
    for (int64_t t = 0; t < T; t++) {
      HeadMatmulArgs one = a;
      one.T = 1;
      one.xOffset = a.xOffset + t * H * a.xStride;
      headMatmul(one, y + t * H * outW);
    }
    return;
  }
  if (T == 1) {
    // Each thread takes one contiguous run of (head, chunk) pieces: in interleaved A/B runs this streamed
    // kv_b's per-head blocks at 36 GB/s against 31 for pieces handed out one at a time.
    const int64_t pieces = H * nC, per = ceilDiv(pieces, serial ? 1 : nt);
    parallelFor(ceilDiv(pieces, per), [&](int64_t task, int) {
      for (int64_t i = task * per; i < std::min(pieces, (task + 1) * per); i++) {
        const int64_t h = i / nC, o0 = (i % nC) * chunk, o1 = std::min(outW, o0 + chunk);
        const WeightRef wh = head(h);
        const float* xh = x0 + h * a.xStride;
        if (a.transposed) k.gemvT(wh, xh, y + h * outW, o0, o1);
        else k.gemv(wh, xh, y + h * outW + o0, o0, o1);
      }
    });
    return;
  }
  if (a.transposed) {
    const int64_t nT = serial ? 1 : std::max<int64_t>(1, std::min(ceilDiv(T, 12), ceilDiv(4 * nt, H * nC)));
    const int64_t tokChunk = roundUp(ceilDiv(T, nT), 12), nTk = ceilDiv(T, tokChunk);
    // Task order: token chunk outermost, so consecutive tasks share the x panel of their head group.
    parallelFor(nTk * H * nC, [&](int64_t i, int) {
      const int64_t c = i % nC, h = (i / nC) % H, tc = i / (nC * H);
      const int64_t o0 = c * chunk, o1 = std::min(outW, o0 + chunk);
      const int64_t t0 = tc * tokChunk, t1 = std::min(T, t0 + tokChunk);
      k.gemmT(head(h), x0 + h * a.xStride, ldx, y + h * outW, ldy, t0, t1, o0, o1);
    });
    return;
  }
  // W_h x for several tokens: per-head token panels, then (panel, head, row chunk) tasks.
  const int64_t TP = k.panelTokens, nb = ceilDiv(T, TP), panel = cols * TP;
  float* P = panelBuffer(H * nb * panel);
  fillPanels(H * nb, cols, serial, [&](int64_t hb, int64_t k0, int64_t k1) {
    const int64_t h = hb / nb, b = hb % nb;
    fillPanel(x0 + h * a.xStride + b * TP * ldx, ldx, nullptr, std::min(TP, T - b * TP), TP, k0, k1, P + hb * panel);
  });
  if (roundsActivations(w.fmt))
    parallelFor(H * nb, [&](int64_t hb, int) { roundPanelQ8(P + hb * panel, cols, std::min(TP, T - (hb % nb) * TP), TP); });
  // (panel group, head, chunk) tasks: a group's panels share each converted strip of W_h.
  const int64_t per = ceilDiv(nb, serial ? 1 : std::min(nb, ceilDiv(4 * nt, H * nC)));
  const int64_t ng = ceilDiv(nb, per);
  parallelFor(ng * H * nC, [&](int64_t i, int thread) {
    const int64_t c = i % nC, h = (i / nC) % H, b = (i / (nC * H)) * per;
    const int64_t o0 = c * chunk, o1 = std::min(outW, o0 + chunk);
    const int64_t ntk = std::min(per * TP, T - b * TP);
    k.gemmPanel(head(h), P + (h * nb + b) * panel, ntk, ntk, y + h * outW + b * TP * ldy, ldy, 1, TP * ldy, o0, o1,
                threadScratch(thread, GEMM_SCRATCH));
  });
}

void gatherRows(const WeightRef& w, const int32_t* ids, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i++) {
    const int64_t r = ids[i];
    float* o = out + i * w.cols;
    for (int64_t c = 0; c < w.cols; c++) o[c] = dequantElem(w, r, c);
  }
}

}  // namespace glm5

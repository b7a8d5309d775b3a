// Machine-limit probes for the benchmark: streaming read bandwidth and FMA peak, all threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include "ops.h"
#include "pool.h"

namespace glm5 {

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double measureBandwidth() {
  const int64_t n = int64_t(1) << 28;  // 1 GiB of floats, far beyond any LLC
  std::unique_ptr<float[]> buf(new float[n]);
  const int64_t threads = poolThreads(), per = (n + threads - 1) / threads;
  // First touch from the threads that will read (NUMA placement), and no lazily-mapped zero pages.
  parallelFor(threads, [&](int64_t i, int) {
    for (int64_t j = i * per; j < std::min(n, (i + 1) * per); j++) buf[j] = float(j & 1023);
  });
  const Kernels& k = K();
  std::atomic<double> sink{0};
  double best = 0;
  for (int rep = 0; rep < 4; rep++) {
    const double t0 = now();
    parallelFor(threads, [&](int64_t i, int) {
      const int64_t j0 = i * per, j1 = std::min(n, j0 + per);
      double s = k.readSum(buf.get() + j0, j1 - j0);
      double cur = sink.load();
      while (!sink.compare_exchange_weak(cur, cur + s)) {
      }
    });
    const double dt = now() - t0;
    best = std::max(best, double(n) * 4 / dt / 1e9);
  }
  return sink.load() == -1 ? 0 : best;
}

double measureFmaPeak() {
  const int64_t threads = poolThreads(), iters = 4000000;
  const Kernels& k = K();
  std::unique_ptr<float[]> sink(new float[threads * 16]);
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    std::atomic<double> flops{0};
    const double t0 = now();
    parallelFor(threads, [&](int64_t i, int) {
      double f = k.fmaLoop(iters, sink.get() + i * 16);
      double cur = flops.load();
      while (!flops.compare_exchange_weak(cur, cur + f)) {
      }
    });
    const double dt = now() - t0;
    best = std::max(best, flops.load() / dt / 1e9);
  }
  return best;
}

}  // namespace glm5

// Thread pool (see pool.h). Threads are created once, on first use, and never joined: the pool is
// intentionally leaked so that process exit never waits on (or destroys state under) a sleeping worker.
#include "pool.h"
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace glm5 {

namespace {

thread_local bool tInTask = false;
thread_local int tSelf = 0;

struct Pool {
  int n = 1;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<uint64_t> gen{0};
  std::atomic<int64_t> next{0};
  std::atomic<int> pending{0};
  int64_t ntasks = 0;
  const std::function<void(int64_t, int)>* job = nullptr;
  std::vector<std::unique_ptr<float[]>> scratch;
  std::vector<int64_t> scratchSize;

  explicit Pool(int threads) : n(threads), scratch(threads), scratchSize(threads, 0) {
    for (int i = 1; i < n; i++) workers.emplace_back([this, i] { loop(i); });
  }

  void work(int self) {
    tInTask = true;
    tSelf = self;
    for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < ntasks;) (*job)(t, self);
    tInTask = false;
  }

  void loop(int self) {
    uint64_t seen = 0;
    for (;;) {
      // Spin ~200 µs for the next job (back-to-back ops in a forward pass), then sleep.
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; gen.load(std::memory_order_acquire) == seen; i++) {
        cpuRelax();
        if ((i & 255) == 255 && std::chrono::steady_clock::now() - start > std::chrono::microseconds(200)) {
          std::unique_lock<std::mutex> lk(mu);
          cv.wait(lk, [&] { return gen.load(std::memory_order_acquire) != seen; });
          break;
        }
      }
      seen = gen.load(std::memory_order_acquire);
      work(self);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void run(int64_t tasks, const std::function<void(int64_t, int)>& fn) {
    job = &fn;
    ntasks = tasks;
    next.store(0, std::memory_order_relaxed);
    pending.store(n - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu);
      gen.fetch_add(1, std::memory_order_release);
    }
    cv.notify_all();
    work(0);
    spinUntil([&] { return pending.load(std::memory_order_acquire) == 0; });
  }
};

int defaultThreads() {
  if (const char* e = std::getenv("GLM5_THREADS")) {
    int v = std::atoi(e);
    if (v > 0) return v;
  }
  unsigned h = std::thread::hardware_concurrency();
  return h ? int(h) : 1;
}

Pool& pool() {
  static Pool* p = new Pool(defaultThreads());
  return *p;
}

}  // namespace

int poolThreads() { return pool().n; }

void cpuRelax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

void yieldThread() { std::this_thread::yield(); }

void parallelFor(int64_t n, const std::function<void(int64_t, int)>& fn) {
  if (n <= 0) return;
  Pool& p = pool();
  if (n == 1 || p.n == 1 || tInTask) {
    const bool was = tInTask;
    tInTask = true;
    for (int64_t i = 0; i < n; i++) fn(i, tSelf);
    tInTask = was;
    return;
  }
  p.run(n, fn);
}

float* threadScratch(int thread, int64_t floats) {
  Pool& p = pool();
  if (p.scratchSize[thread] < floats) {
    p.scratch[thread].reset(new float[floats]);
    p.scratchSize[thread] = floats;
  }
  return p.scratch[thread].get();
}

}  // namespace glm5

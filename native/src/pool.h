// A persistent thread pool: one worker per core (the calling thread is worker 0). parallelFor hands out
// task indices through an atomic counter; workers spin briefly between jobs, then sleep.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace glm5 {

int poolThreads();
// A spin-wait hint (x86 pause).
void cpuRelax();
// Gives the core away (sched_yield).
void yieldThread();
// Waits for done(): spins briefly (back-to-back ops hand over in microseconds), then yields the core on
// every check, so a descheduled partner thread gets to run when the cores are oversubscribed (a server
// sharing the machine with other processes): pure spinning there cost ~100x in measured decode speed.
template <class F>
inline void spinUntil(F done) {
  for (int i = 0; !done(); i++) {
    if (i < 2048) cpuRelax();
    else yieldThread();
  }
}
// Calls fn(task, thread) for task in [0, n), spread over the pool; returns when all are done.
// Nested calls (from inside a task) run inline on the calling thread.
void parallelFor(int64_t n, const std::function<void(int64_t task, int thread)>& fn);

// Per-thread scratch of at least `floats` floats, reused across calls.
float* threadScratch(int thread, int64_t floats);

// A call site's buffer grown to n elements (never shrunk): ops are entered from the JS thread one at a time,
// and fresh memory costs a page fault per 4 KiB (1-7 µs each on the VMs measured), more than many ops take.
template <class T>
T* grown(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace glm5

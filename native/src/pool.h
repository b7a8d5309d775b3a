// A persistent thread pool: one worker per core (the calling thread is worker 0). parallelFor hands out
// task indices through an atomic counter; workers spin briefly between jobs, then sleep.
#pragma once
#include <cstdint>
#include <functional>

namespace glm5 {

int poolThreads();
// Calls fn(task, thread) for task in [0, n), spread over the pool; returns when all are done.
// Nested calls (from inside a task) run inline on the calling thread.
void parallelFor(int64_t n, const std::function<void(int64_t task, int thread)>& fn);

// Per-thread scratch of at least `floats` floats, reused across calls.
float* threadScratch(int thread, int64_t floats);

}  // namespace glm5

// The persistent thread pool behind parallel_for: num_threads()-1 workers plus the calling thread. Workers spin
// about 100 us after each job (back-to-back kernels then start in microseconds) and then sleep on a condition
// variable, so an idle process uses no CPU. The pool is created on first use and never destroyed (its threads die with the
// process), so exit never waits on it. R1TS_THREADS sets the size; the default is the number of usable cores.
#include "common.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#include <sched.h>
#include <immintrin.h>

namespace r1ts {
namespace {

thread_local bool t_inside = false;  // this thread is running tasks of a parallel region

constexpr int64_t kSpinNs = 100000;  // how long an idle worker spins before it sleeps

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct alignas(64) Job {
  TaskFn fn = nullptr;
  void* ctx = nullptr;
  long ntasks = 0;
};

// Protocol. The caller publishes a job and bumps `generation_`; a worker that notices joins by incrementing
// `active_` and then checking that the job is still `open_`. The caller runs tasks itself until none are left,
// closes the job and waits only for workers that joined (seq_cst on both sides, so one always sees the other).
// A worker that is asleep or descheduled therefore never delays a job it did not take part in.
class Pool {
 public:
  explicit Pool(int n) { start(n); }

  int size() const { return nthreads_; }

  void resize(int n) {
    while (busy_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
    stop();
    start(n);
    busy_.store(false, std::memory_order_release);
  }

  void run(long ntasks, TaskFn fn, void* ctx) {
    // Nested regions (a task calling parallel_for) and regions started while another is running run serially.
    if (t_inside || nthreads_ == 1 || ntasks == 1 || busy_.exchange(true, std::memory_order_acquire)) {
      for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
      return;
    }
    t_inside = true;
    job_.fn = fn;
    job_.ctx = ctx;
    job_.ntasks = ntasks;
    next_.store(0, std::memory_order_relaxed);
    const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
    open_.store(gen, std::memory_order_seq_cst);
    generation_.store(gen, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      cv_.notify_all();
    }
    work(0);
    open_.store(0, std::memory_order_seq_cst);
    const int64_t t0 = now_ns();
    for (int i = 0; active_.load(std::memory_order_seq_cst) > 0; i++) {
      if ((i & 63) == 63 && now_ns() - t0 > 50000) std::this_thread::yield();
      else _mm_pause();
    }
    t_inside = false;
    busy_.store(false, std::memory_order_release);
  }

 private:
  void start(int n) {
    nthreads_ = n < 1 ? 1 : n;
    quit_.store(false);
    const uint64_t gen = generation_.load();  // read before the threads start, so none can miss the first job
    for (int i = 1; i < nthreads_; i++) threads_.emplace_back([this, i, gen] { loop(i, gen); });
  }

  void stop() {
    quit_.store(true);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    {
      std::lock_guard<std::mutex> lk(mu_);
      cv_.notify_all();
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  void work(int tid) {
    const Job job = job_;
    for (;;) {
      long t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= job.ntasks) break;
      job.fn(job.ctx, t, tid);
    }
  }

  void loop(int tid, uint64_t seen) {
    t_inside = true;
    for (;;) {
      int64_t t0 = 0;
      for (int i = 0; generation_.load(std::memory_order_acquire) == seen; i++) {
        _mm_pause();
        if ((i & 31) != 31) continue;
        if (t0 == 0) t0 = now_ns();
        if (now_ns() - t0 < kSpinNs) continue;
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while (generation_.load(std::memory_order_seq_cst) == seen) cv_.wait(lk);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        break;
      }
      seen = generation_.load(std::memory_order_acquire);
      if (quit_.load()) return;
      active_.fetch_add(1, std::memory_order_seq_cst);
      if (open_.load(std::memory_order_seq_cst) == seen) work(tid);
      active_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  int nthreads_ = 1;
  std::vector<std::thread> threads_;
  std::atomic<bool> busy_{false};  // one parallel region at a time
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> quit_{false};
  alignas(64) std::atomic<long> next_{0};
  alignas(64) std::atomic<int> active_{0};
  Job job_;
};

int default_threads() {
  const char* env = std::getenv("R1TS_THREADS");
  if (env && *env) {
    int n = std::atoi(env);
    if (n >= 1 && n <= 1024) return n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

Pool& pool() {
  static Pool* p = new Pool(default_threads());  // never destroyed: see the header comment
  return *p;
}

}  // namespace

void parallel_for(long ntasks, TaskFn fn, void* ctx) {
  if (ntasks <= 0) return;
  pool().run(ntasks, fn, ctx);
}

int num_threads() { return pool().size(); }

void set_num_threads(int n) { pool().resize(n); }

}  // namespace r1ts

// What the CPU kernels share: the oneDNN engine and stream on our own thread pools, the
// cores those pools may use, scratch buffers, profiling, and the error guard.  Everything is inline, so the kernels of
// all source files share one runtime inside the library.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "onednn_api.h"


namespace mmcls_onednn {

inline void check(dnnl_status_t status, const char *what) {
  if (status != DNNL_SUCCESS)
    throw std::runtime_error(std::string(what) + " failed with oneDNN status " +
                             std::to_string(status));
}

// MMCLS_MS_ONEDNN_PROFILE=1: time in the convolution kernels and in the layout reorders,
// printed to stderr when the process exits (the evidence for where a step's time goes).
struct Profile {
  enum Kind { kForward, kBackwardData, kBackwardWeights, kReorder, kPooling, kBatchNorm, kKinds };
  bool enabled = getenv("MMCLS_MS_ONEDNN_PROFILE") != nullptr;
  double seconds[kKinds] = {};
  double cpu_seconds[kKinds] = {};  // process CPU time meanwhile: cores used = cpu / wall
  double gflop[kKinds] = {};
  long calls[kKinds] = {};
  void report() {
    if (!enabled) return;
    const char *names[kKinds] = {"forward", "backward_data", "backward_weights", "reorders",
                                 "pooling", "batch_norm_relu"};
    for (int k = 0; k < kKinds; ++k) {
      if (!calls[k]) continue;
      fprintf(stderr, "[mmcls_ms cpu kernels] %-16s %7ld calls %9.3f s %5.2f cores", names[k],
              calls[k], seconds[k], cpu_seconds[k] / seconds[k]);
      if (gflop[k] > 0) fprintf(stderr, " %7.1f GFLOP/s", gflop[k] / seconds[k]);
      fprintf(stderr, "\n");
    }
  }
};
inline Profile g_profile;

// Adds the lifetime of this object to one kind's total (only when profiling).
class Timed {
 public:
  Timed(Profile::Kind kind, double gflop) : kind_(kind), gflop_(gflop) {
    if (!g_profile.enabled) return;
    start_ = std::chrono::steady_clock::now();
    cpu_start_ = process_cpu_seconds();
  }
  ~Timed() {
    if (!g_profile.enabled) return;
    std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start_;
    g_profile.seconds[kind_] += spent.count();
    g_profile.cpu_seconds[kind_] += process_cpu_seconds() - cpu_start_;
    g_profile.gflop[kind_] += gflop_;
    g_profile.calls[kind_] += 1;
  }

 private:
  static double process_cpu_seconds() {
    timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return now.tv_sec + 1e-9 * now.tv_nsec;
  }
  Profile::Kind kind_;
  double gflop_;
  double cpu_start_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// The threads the kernels use (set by kernel_library.py from the CPU affinity and the cgroup
// quota before the first kernel runs; 0: all hardware threads).
inline int g_requested_threads = 0;

// Helper threads free to join a parallel call, shared by all pools: the main pool and the
// side pools (batch norm, optimizer) may run at once, and together they must not put more
// threads to work than there are cores.  A call takes what is free (maybe none: then its
// caller runs every task itself) and gives it back when done.
class HelperBudget {
 public:
  void reset(int helpers) { free_.store(helpers); }
  int take(int wanted) {
    int free = free_.load();
    for (;;) {
      int got = std::min(wanted, std::max(free, 0));
      if (got == 0) return 0;
      if (free_.compare_exchange_weak(free, free - got)) {
        int busy = busy_.fetch_add(got) + got;
        for (int peak = peak_.load(); busy > peak && !peak_.compare_exchange_weak(peak, busy);) {
        }
        return got;
      }
    }
  }
  void give_back(int helpers) {
    if (helpers == 0) return;
    busy_.fetch_sub(helpers);
    free_.fetch_add(helpers);
  }
  int peak() const { return peak_.load(); }

 private:
  std::atomic<int> free_{0}, busy_{0}, peak_{0};
};
inline HelperBudget g_helpers;

// A fork-join pool for oneDNN's THREADPOOL runtime: the calling thread works too, helped by
// as many of the pool's workers as the shared budget allows (oneDNN's threadpool kernels do
// not need their tasks to run concurrently).
class Pool : public ThreadpoolInterface {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work_loop(); });
  }
  ~Pool() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto &worker : workers_) worker.join();
  }
  int get_num_threads() const override { return threads_; }
  bool get_in_parallel() const override { return inside_; }
  uint64_t get_flags() const override { return 0; }
  void wait() override {}
  void parallel_for(int n, const std::function<void(int, int)> &fn) override {
    if (n <= 0) return;
    int helpers = (n == 1 || threads_ == 1 || inside_)
                      ? 0 : g_helpers.take(std::min(n, threads_) - 1);
    if (helpers == 0) {
      bool was_inside = inside_;
      inside_ = true;
      for (int i = 0; i < n; ++i) fn(i, n);
      inside_ = was_inside;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &fn;
      task_count_ = n;
      helpers_allowed_ = helpers;
      helpers_joined_ = 0;
      next_.store(0);
      finished_.store(0);
      ++generation_;
    }
    wake_.notify_all();
    run_tasks(&fn, n);
    // The others finish within microseconds: spin briefly, then yield.
    spin_until([&] { return finished_.load(std::memory_order_acquire) >= n; });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = nullptr;  // a worker waking late from now on finds nothing to do
    }
    // `fn` lives on the caller's stack: return only when no worker still holds it.
    // (A worker that had taken it but not yet an index could otherwise run the next
    // call's index 0 with this dead `fn`: seen as "stack smashing detected".)
    spin_until([&] { return active_.load(std::memory_order_acquire) == 0; });
    g_helpers.give_back(helpers);
  }

 private:
  template <typename Done>
  static void spin_until(Done done) {
    for (int spins = 0; !done(); ++spins) {
      if (spins < 4000)
        __builtin_ia32_pause();
      else
        std::this_thread::yield();
    }
  }
  void run_tasks(const std::function<void(int, int)> *task, int n) {
    bool was_inside = inside_;
    inside_ = true;
    for (int i; (i = next_.fetch_add(1)) < n;) {
      (*task)(i, n);
      finished_.fetch_add(1, std::memory_order_release);
    }
    inside_ = was_inside;
  }
  void work_loop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int, int)> *task;
      int n;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stopping_) return;
        task = task_;
        n = task_count_;
        if (task == nullptr || helpers_joined_ >= helpers_allowed_) continue;
        ++helpers_joined_;
        active_.fetch_add(1, std::memory_order_relaxed);  // under the lock: the caller sees it
      }
      run_tasks(task, n);
      active_.fetch_sub(1, std::memory_order_release);
    }
  }
  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  // guarded by mutex_: the call in progress, nullptr once its tasks are all done
  const std::function<void(int, int)> *task_ = nullptr;
  int task_count_ = 0;
  int helpers_allowed_ = 0, helpers_joined_ = 0;  // workers that may join the call
  std::atomic<int> next_{0}, finished_{0};
  std::atomic<int> active_{0};  // workers inside the call in progress
  static inline thread_local bool inside_ = false;
};

struct Runtime {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::unique_ptr<Pool> pool;
  Runtime() {
    int threads = g_requested_threads > 0 ? g_requested_threads
                                          : static_cast<int>(std::thread::hardware_concurrency());
    if (threads < 1) threads = 1;
    g_helpers.reset(threads - 1);
    pool.reset(new Pool(threads));
    check(dnnl_threadpool_interop_set_max_concurrency(threads), "set_max_concurrency");
    check(dnnl_engine_create(&engine, DNNL_ENGINE_CPU, 0), "engine_create");
    check(dnnl_threadpool_interop_stream_create(&stream, engine, pool.get()), "stream_create");
  }
};

inline std::atomic<bool> g_runtime_started{false};

inline Runtime &runtime() {
  static Runtime *instance = [] {
    g_runtime_started.store(true);
    return new Runtime();  // lives as long as the process
  }();
  return *instance;
}

// Scratch buffers for the blocked tensors (slots 0-2) and the convolutions' batched-GEMM
// weight gradient (3-4): kernels run one at a time (see g_mutex), so all shapes share these
// growing buffers instead of holding their own.
constexpr int kScratchSlots = 5;
inline void *scratch(int slot, size_t bytes) {
  static std::vector<char> buffers[kScratchSlots];
  if (buffers[slot].size() < bytes) {
    buffers[slot].clear();
    buffers[slot].shrink_to_fit();
    buffers[slot].resize(bytes + 64);
  }
  return buffers[slot].data();
}

// Runs one primitive to completion on the ops' stream; its time counts toward `kind`.
inline void execute(dnnl_primitive_t primitive, const dnnl_exec_arg_t *args, int nargs,
                    Profile::Kind kind, double gflop, const char *what) {
  Timed timed(kind, gflop);
  check(dnnl_primitive_execute(primitive, runtime().stream, nargs, args), what);
  check(dnnl_stream_wait(runtime().stream), "stream_wait");
}

inline dnnl_memory_desc_t make_desc(std::vector<dnnl_dim_t> dims, int tag) {
  dnnl_dims_t d = {};
  for (size_t i = 0; i < dims.size(); ++i) d[i] = dims[i];
  dnnl_memory_desc_t desc = nullptr;
  check(dnnl_memory_desc_create_with_tag(&desc, static_cast<int>(dims.size()), d, DNNL_F32, tag),
        "memory_desc_create");
  return desc;
}

inline std::string impl_name(const_dnnl_primitive_desc_t pd) {
  const char *name = nullptr;
  dnnl_primitive_desc_query(pd, DNNL_QUERY_IMPL_INFO_STR, 0, &name);
  return name ? name : "?";
}

// Whether the first `n` arguments of a MindSpore aot call are float32.
inline bool all_float32(int n, const char **dtypes) {
  for (int i = 0; i < n; ++i)
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  return true;
}

constexpr int kAnyRank = -1;

// Whether a MindSpore aot call got `count` arguments with these ranks (in order; kAnyRank:
// not checked) and float32 first `float_inputs`.
inline bool aot_arguments_are(int nparam, const int *ndims, const char **dtypes, int count,
                              std::initializer_list<int> ranks, int float_inputs) {
  if (nparam != count || !all_float32(float_inputs, dtypes)) return false;
  int i = 0;
  for (int rank : ranks) {
    if (rank != kAnyRank && ndims[i] != rank) return false;
    ++i;
  }
  return true;
}

// The arguments of a MindSpore aot call as float buffers: inputs read, outputs written.
struct AotParams {
  void **params;
  const float *in(int i) const { return static_cast<const float *>(params[i]); }
  float *out(int i) const { return static_cast<float *>(params[i]); }
};

// A pool and lock of their own, for kernels that need no scratch buffers: MindSpore may run
// independent kernels of a step side by side (InceptionV3's branches), so such a kernel need
// not wait for a convolution of another branch.  One per `Kind` (a tag type), for the process;
// all pools draw their helpers from one budget (g_helpers), so side by side they still use
// no more threads than the cores.
struct SidePool {
  std::mutex lock;
  Pool pool{runtime().pool->get_num_threads()};
};
template <typename Kind>
SidePool &side_pool() {
  static SidePool *instance = new SidePool();  // lives as long as the process
  return *instance;
}

inline std::mutex g_mutex;  // one kernel at a time: they share the scratch buffers and the pool

// Runs one kernel call under `lock`, turning an exception into an error status for MindSpore.
template <typename Fn>
int guarded(const char *name, Fn fn, std::mutex &lock = g_mutex) {
  try {
    std::lock_guard<std::mutex> hold(lock);
    fn();
    return 0;
  } catch (const std::exception &err) {
    fprintf(stderr, "[mmcls_ms cpu kernels] %s: %s\n", name, err.what());
    return 2;
  }
}

}  // namespace mmcls_onednn

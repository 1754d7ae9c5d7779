// 2-D convolution (forward, backward-data, backward-weights) for MindSpore's Custom(aot) op
// on CPU, calling the oneDNN that MindSpore ships (libdnnl.so.3, THREADPOOL runtime).
//
// Why: MindSpore 2.10 hands oneDNN plain NCHW tensors, so oneDNN runs im2col + GEMM (or, at
// AVX-512, a naive reference kernel).  Here the convolution is created with format "any",
// oneDNN picks its blocked-layout direct kernels (jit:avx512_core / jit:avx2), and the
// tensors are reordered NCHW <-> blocked around each call.
//
// Tensors in and out are fp32 NCHW / OIHW, contiguous.  The `geometry` input carries the
// convolution's settings in its SHAPE, (stride_h, stride_w, pad_h + 1, pad_w + 1, dilation_h,
// dilation_w) with PyTorch's dilation (1 = none); its contents are never read.  In its shape,
// because MindSpore infers (and caches) output shapes from input shapes alone.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "onednn_api.h"

namespace {

void check(dnnl_status_t status, const char *what) {
  if (status != DNNL_SUCCESS)
    throw std::runtime_error(std::string(what) + " failed with oneDNN status " +
                             std::to_string(status));
}

// MMCLS_MS_ONEDNN_PROFILE=1: time in the convolution kernels and in the layout reorders,
// printed to stderr when the process exits (the evidence for where a step's time goes).
struct Profile {
  enum Kind { kForward, kBackwardData, kBackwardWeights, kReorder, kKinds };
  bool enabled = getenv("MMCLS_MS_ONEDNN_PROFILE") != nullptr;
  double seconds[kKinds] = {};
  double gflop[kKinds] = {};
  long calls[kKinds] = {};
  void report() {
    if (!enabled) return;
    const char *names[kKinds] = {"forward", "backward_data", "backward_weights", "reorders"};
    for (int k = 0; k < kKinds; ++k) {
      if (!calls[k]) continue;
      fprintf(stderr, "[mmcls_ms onednn conv] %-16s %7ld calls %9.3f s", names[k], calls[k],
              seconds[k]);
      if (gflop[k] > 0) fprintf(stderr, " %7.1f GFLOP/s", gflop[k] / seconds[k]);
      fprintf(stderr, "\n");
    }
  }
};
Profile g_profile;

// Adds the lifetime of this object to one kind's total (only when profiling).
class Timed {
 public:
  Timed(Profile::Kind kind, double gflop) : kind_(kind), gflop_(gflop) {
    if (g_profile.enabled) start_ = std::chrono::steady_clock::now();
  }
  ~Timed() {
    if (!g_profile.enabled) return;
    std::chrono::duration<double> spent = std::chrono::steady_clock::now() - start_;
    g_profile.seconds[kind_] += spent.count();
    g_profile.gflop[kind_] += gflop_;
    g_profile.calls[kind_] += 1;
  }

 private:
  Profile::Kind kind_;
  double gflop_;
  std::chrono::steady_clock::time_point start_;
};

// A fork-join pool for oneDNN's THREADPOOL runtime: the calling thread works too.
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
    if (n == 1 || threads_ == 1 || inside_) {
      bool was_inside = inside_;
      inside_ = true;
      for (int i = 0; i < n; ++i) fn(i, n);
      inside_ = was_inside;
      return;
    }
    task_ = &fn;
    task_count_ = n;
    next_.store(0);
    finished_.store(0);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++generation_;
    }
    wake_.notify_all();
    run_tasks();
    // The others finish within microseconds: spin briefly, then yield.
    for (int spins = 0; finished_.load(std::memory_order_acquire) < n; ++spins) {
      if (spins < 4000)
        __builtin_ia32_pause();
      else
        std::this_thread::yield();
    }
    task_ = nullptr;
  }

 private:
  void run_tasks() {
    bool was_inside = inside_;
    inside_ = true;
    const std::function<void(int, int)> *task = task_;
    const int n = task_count_;
    for (int i; task && (i = next_.fetch_add(1)) < n;) {
      (*task)(i, n);
      finished_.fetch_add(1, std::memory_order_release);
    }
    inside_ = was_inside;
  }
  void work_loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stopping_) return;
      }
      run_tasks();
    }
  }
  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  const std::function<void(int, int)> *volatile task_ = nullptr;
  volatile int task_count_ = 0;
  std::atomic<int> next_{0}, finished_{0};
  static thread_local bool inside_;
};
thread_local bool Pool::inside_ = false;

struct Runtime {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::unique_ptr<Pool> pool;
  Runtime() {
    const char *env = getenv("MMCLS_MS_ONEDNN_THREADS");
    int threads = env ? atoi(env) : static_cast<int>(std::thread::hardware_concurrency());
    if (threads < 1) threads = 1;
    pool.reset(new Pool(threads));
    check(dnnl_threadpool_interop_set_max_concurrency(threads), "set_max_concurrency");
    check(dnnl_engine_create(&engine, DNNL_ENGINE_CPU, 0), "engine_create");
    check(dnnl_threadpool_interop_stream_create(&stream, engine, pool.get()), "stream_create");
  }
};

Runtime &runtime() {
  static Runtime *instance = new Runtime();  // lives as long as the process
  return *instance;
}

// Scratch buffers for the blocked tensors: kernels run one at a time (see g_mutex), so all
// shapes share three growing buffers instead of holding their own.
void *scratch(int slot, size_t bytes) {
  static std::vector<char> buffers[3];
  if (buffers[slot].size() < bytes) {
    buffers[slot].clear();
    buffers[slot].shrink_to_fit();
    buffers[slot].resize(bytes + 64);
  }
  return buffers[slot].data();
}

dnnl_memory_desc_t make_desc(std::vector<dnnl_dim_t> dims, int tag) {
  dnnl_dims_t d = {};
  for (size_t i = 0; i < dims.size(); ++i) d[i] = dims[i];
  dnnl_memory_desc_t desc = nullptr;
  check(dnnl_memory_desc_create_with_tag(&desc, static_cast<int>(dims.size()), d, DNNL_F32, tag),
        "memory_desc_create");
  return desc;
}

// A user tensor (plain layout) and, when the kernel wants another layout, the reorder to or
// from a scratch tensor in that layout.
struct Operand {
  const_dnnl_memory_desc_t plain = nullptr;
  dnnl_memory_t user = nullptr;
  dnnl_memory_t blocked = nullptr;
  dnnl_primitive_t reorder = nullptr;
  size_t blocked_bytes = 0;
  int slot = 0;
  bool into_kernel = true;

  void init(dnnl_memory_desc_t plain_desc, const_dnnl_memory_desc_t wanted, bool to_kernel,
            int scratch_slot) {
    Runtime &rt = runtime();
    plain = plain_desc;
    into_kernel = to_kernel;
    slot = scratch_slot;
    check(dnnl_memory_create(&user, plain_desc, rt.engine, nullptr), "memory_create");
    if (dnnl_memory_desc_equal(plain_desc, wanted)) return;
    blocked_bytes = dnnl_memory_desc_get_size(wanted);
    check(dnnl_memory_create(&blocked, wanted, rt.engine, nullptr), "memory_create");
    dnnl_primitive_desc_t pd = nullptr;
    if (to_kernel)
      check(dnnl_reorder_primitive_desc_create(&pd, plain_desc, rt.engine, wanted, rt.engine,
                                               nullptr), "reorder_desc_create");
    else
      check(dnnl_reorder_primitive_desc_create(&pd, wanted, rt.engine, plain_desc, rt.engine,
                                               nullptr), "reorder_desc_create");
    check(dnnl_primitive_create(&reorder, pd), "reorder_create");
    dnnl_primitive_desc_destroy(pd);
  }
  // Binds `data` and returns the memory the kernel reads or writes (reordering inputs now).
  dnnl_memory_t bind(const void *data) {
    Runtime &rt = runtime();
    check(dnnl_memory_set_data_handle(user, const_cast<void *>(data)), "set_data_handle");
    if (!reorder) return user;
    check(dnnl_memory_set_data_handle(blocked, scratch(slot, blocked_bytes)), "set_data_handle");
    if (into_kernel) {
      Timed timed(Profile::kReorder, 0);
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, user}, {DNNL_ARG_DST, blocked}};
      check(dnnl_primitive_execute(reorder, rt.stream, 2, args), "reorder");
      check(dnnl_stream_wait(rt.stream), "stream_wait");
    }
    return blocked;
  }
  // For outputs: copy the kernel's result back to the user tensor.
  void write_back() {
    if (!reorder || into_kernel) return;
    Timed timed(Profile::kReorder, 0);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, blocked}, {DNNL_ARG_DST, user}};
    check(dnnl_primitive_execute(reorder, runtime().stream, 2, args), "reorder");
    check(dnnl_stream_wait(runtime().stream), "stream_wait");
  }
};

struct Geometry {
  int64_t n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw;  // dh, dw: PyTorch dilation
  int64_t out_h() const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
  int64_t out_w() const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
  double gflop() const { return 2e-9 * n * k * out_h() * out_w() * c * kh * kw; }
  auto key() const { return std::make_tuple(n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw); }
  bool operator<(const Geometry &other) const { return key() < other.key(); }
};

std::string impl_name(const_dnnl_primitive_desc_t pd) {
  const char *name = nullptr;
  dnnl_primitive_desc_query(pd, DNNL_QUERY_IMPL_INFO_STR, 0, &name);
  return name ? name : "?";
}

// All primitives of one convolution shape, created on first use.
class Convolution {
 public:
  explicit Convolution(const Geometry &g) : g_(g) {
    Runtime &rt = runtime();
    src_ = make_desc({g.n, g.c, g.h, g.w}, DNNL_TAG_ABCD);
    weights_ = make_desc({g.k, g.c, g.kh, g.kw}, DNNL_TAG_ABCD);
    dst_ = make_desc({g.n, g.k, g.out_h(), g.out_w()}, DNNL_TAG_ABCD);
    bias_ = make_desc({g.k}, DNNL_TAG_A);
    any_src_ = make_desc({g.n, g.c, g.h, g.w}, DNNL_TAG_ANY);
    any_weights_ = make_desc({g.k, g.c, g.kh, g.kw}, DNNL_TAG_ANY);
    any_dst_ = make_desc({g.n, g.k, g.out_h(), g.out_w()}, DNNL_TAG_ANY);
    strides_[0] = g.sh, strides_[1] = g.sw;
    dilates_[0] = g.dh - 1, dilates_[1] = g.dw - 1;  // oneDNN counts the gaps
    pad_l_[0] = g.ph, pad_l_[1] = g.pw;
    // the right padding that gives the floor() output size
    pad_r_[0] = (g.out_h() - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.ph;
    pad_r_[1] = (g.out_w() - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pw;
    check(dnnl_convolution_forward_primitive_desc_create(
              &fwd_pd_, rt.engine, DNNL_FORWARD_TRAINING, DNNL_CONVOLUTION_DIRECT, any_src_,
              any_weights_, bias_, any_dst_, strides_, dilates_, pad_l_, pad_r_, nullptr),
          "convolution_forward_desc_create");
    check(dnnl_primitive_create(&fwd_, fwd_pd_), "convolution_forward_create");
    fwd_src_.init(src_, dnnl_primitive_desc_query_md(fwd_pd_, DNNL_QUERY_SRC_MD, 0), true, 0);
    fwd_weights_.init(weights_, dnnl_primitive_desc_query_md(fwd_pd_, DNNL_QUERY_WEIGHTS_MD, 0),
                      true, 1);
    fwd_dst_.init(dst_, dnnl_primitive_desc_query_md(fwd_pd_, DNNL_QUERY_DST_MD, 0), false, 2);
    fwd_bias_.init(bias_, bias_, true, 0);
    if (getenv("MMCLS_MS_ONEDNN_VERBOSE"))
      fprintf(stderr, "[mmcls_ms onednn conv] %ldx%ldx%ldx%ld -> %ld k%ldx%ld: %s\n", (long)g.n,
              (long)g.c, (long)g.h, (long)g.w, (long)g.k, (long)g.kh, (long)g.kw,
              impl_name(fwd_pd_).c_str());
  }

  void forward(const float *x, const float *w, const float *b, float *y) {
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, fwd_src_.bind(x)},
                               {DNNL_ARG_WEIGHTS, fwd_weights_.bind(w)},
                               {DNNL_ARG_BIAS, fwd_bias_.bind(b)},
                               {DNNL_ARG_DST, fwd_dst_.bind(y)}};
    run(fwd_, Profile::kForward, args, 4, fwd_dst_, "convolution_forward");
  }

  void backward_data(const float *dy, const float *w, float *dx) {
    prepare_backward();
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, bwd_data_dy_.bind(dy)},
                               {DNNL_ARG_WEIGHTS, bwd_data_weights_.bind(w)},
                               {DNNL_ARG_DIFF_SRC, bwd_data_dx_.bind(dx)}};
    run(bwd_data_, Profile::kBackwardData, args, 3, bwd_data_dx_, "convolution_bwd_data");
  }

  void backward_weights(const float *x, const float *dy, float *dw, float *db) {
    prepare_backward();
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, bwd_weights_x_.bind(x)},
                               {DNNL_ARG_DIFF_DST, bwd_weights_dy_.bind(dy)},
                               {DNNL_ARG_DIFF_WEIGHTS, bwd_weights_dw_.bind(dw)},
                               {DNNL_ARG_DIFF_BIAS, bwd_weights_db_.bind(db)}};
    run(bwd_weights_, Profile::kBackwardWeights, args, 4, bwd_weights_dw_,
        "convolution_bwd_weights");
  }

 private:
  // Runs one kernel (timed when profiling), then copies its output back to NCHW.
  void run(dnnl_primitive_t primitive, Profile::Kind kind, const dnnl_exec_arg_t *args,
           int nargs, Operand &output, const char *what) {
    {
      Timed timed(kind, g_.gflop());
      check(dnnl_primitive_execute(primitive, runtime().stream, nargs, args), what);
      check(dnnl_stream_wait(runtime().stream), "stream_wait");
    }
    output.write_back();
  }

  void prepare_backward() {
    if (bwd_data_) return;
    Runtime &rt = runtime();
    dnnl_primitive_desc_t pd = nullptr;
    check(dnnl_convolution_backward_data_primitive_desc_create(
              &pd, rt.engine, DNNL_CONVOLUTION_DIRECT, any_src_, any_weights_, any_dst_, strides_,
              dilates_, pad_l_, pad_r_, fwd_pd_, nullptr),
          "convolution_bwd_data_desc_create");
    check(dnnl_primitive_create(&bwd_data_, pd), "convolution_bwd_data_create");
    bwd_data_dy_.init(dst_, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_DIFF_DST_MD, 0), true, 0);
    bwd_data_weights_.init(weights_, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_WEIGHTS_MD, 0),
                           true, 1);
    bwd_data_dx_.init(src_, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_DIFF_SRC_MD, 0), false, 2);
    dnnl_primitive_desc_destroy(pd);

    check(dnnl_convolution_backward_weights_primitive_desc_create(
              &pd, rt.engine, DNNL_CONVOLUTION_DIRECT, any_src_, any_weights_, bias_, any_dst_,
              strides_, dilates_, pad_l_, pad_r_, fwd_pd_, nullptr),
          "convolution_bwd_weights_desc_create");
    check(dnnl_primitive_create(&bwd_weights_, pd), "convolution_bwd_weights_create");
    bwd_weights_x_.init(src_, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_SRC_MD, 0), true, 0);
    bwd_weights_dy_.init(dst_, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_DIFF_DST_MD, 0), true,
                         1);
    bwd_weights_dw_.init(weights_, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_DIFF_WEIGHTS_MD, 0),
                         false, 2);
    bwd_weights_db_.init(bias_, bias_, false, 0);
    dnnl_primitive_desc_destroy(pd);
  }

  Geometry g_;
  dnnl_memory_desc_t src_, weights_, dst_, bias_, any_src_, any_weights_, any_dst_;
  dnnl_dims_t strides_ = {}, dilates_ = {}, pad_l_ = {}, pad_r_ = {};
  dnnl_primitive_desc_t fwd_pd_ = nullptr;
  dnnl_primitive_t fwd_ = nullptr, bwd_data_ = nullptr, bwd_weights_ = nullptr;
  Operand fwd_src_, fwd_weights_, fwd_bias_, fwd_dst_;
  Operand bwd_data_dy_, bwd_data_weights_, bwd_data_dx_;
  Operand bwd_weights_x_, bwd_weights_dy_, bwd_weights_dw_, bwd_weights_db_;
};

std::mutex g_mutex;  // one kernel at a time: they share the scratch buffers and the pool
std::map<Geometry, std::unique_ptr<Convolution>> g_convolutions;

Convolution &convolution(const int64_t *x_shape, const int64_t *w_shape, const int64_t *geometry) {
  Geometry g{x_shape[0], x_shape[1], x_shape[2], x_shape[3], w_shape[0], w_shape[2], w_shape[3],
             geometry[0], geometry[1], geometry[2] - 1, geometry[3] - 1, geometry[4], geometry[5]};
  std::unique_ptr<Convolution> &conv = g_convolutions[g];
  if (!conv) conv.reset(new Convolution(g));
  return *conv;
}

bool all_float32(int n, const char **dtypes) {
  for (int i = 0; i < n; ++i)
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  return true;
}

template <typename Fn>
int guarded(const char *name, Fn fn) {
  try {
    std::lock_guard<std::mutex> lock(g_mutex);
    fn();
    return 0;
  } catch (const std::exception &err) {
    fprintf(stderr, "[mmcls_ms onednn conv] %s: %s\n", name, err.what());
    return 2;
  }
}

}  // namespace

// MindSpore aot signature.  inputs: x, w, b, geometry | output: y
extern "C" int conv2d_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                              const char **dtypes, void *stream, void *extra) {
  if (nparam != 5 || ndims[0] != 4 || ndims[1] != 4 || ndims[3] != 6 || !all_float32(3, dtypes))
    return 1;
  return guarded("conv2d_forward", [&] {
    convolution(shapes[0], shapes[1], shapes[3])
        .forward(static_cast<const float *>(params[0]), static_cast<const float *>(params[1]),
                 static_cast<const float *>(params[2]), static_cast<float *>(params[4]));
  });
}

// inputs: dy, w, x (for its shape), geometry | output: dx
extern "C" int conv2d_backward_data(int nparam, void **params, int *ndims, int64_t **shapes,
                                    const char **dtypes, void *stream, void *extra) {
  if (nparam != 5 || ndims[3] != 6 || !all_float32(2, dtypes)) return 1;
  return guarded("conv2d_backward_data", [&] {
    convolution(shapes[2], shapes[1], shapes[3])
        .backward_data(static_cast<const float *>(params[0]),
                       static_cast<const float *>(params[1]), static_cast<float *>(params[4]));
  });
}

// inputs: x, dy, w (for its shape), geometry | outputs: dw, db
extern "C" int conv2d_backward_weights(int nparam, void **params, int *ndims, int64_t **shapes,
                                       const char **dtypes, void *stream, void *extra) {
  if (nparam != 6 || ndims[3] != 6 || !all_float32(2, dtypes)) return 1;
  return guarded("conv2d_backward_weights", [&] {
    convolution(shapes[0], shapes[2], shapes[3])
        .backward_weights(static_cast<const float *>(params[0]),
                          static_cast<const float *>(params[1]), static_cast<float *>(params[4]),
                          static_cast<float *>(params[5]));
  });
}

// For the loader's check: 0 when MindSpore's oneDNN is one this file was written for.
extern "C" int onednn_conv_abi_check(void) {
  const dnnl_version_t *version = dnnl_version();
  if (version->major != 3) return 1;
  if (version->cpu_runtime != DNNL_RUNTIME_THREADPOOL) return 2;
  return 0;
}

// MMCLS_MS_ONEDNN_PROFILE=1: print the totals so far (onednn_conv.py calls it at exit).
extern "C" void onednn_conv_profile_report(void) { g_profile.report(); }

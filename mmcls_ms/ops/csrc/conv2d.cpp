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
// dilation_w, fused_relu + 1) with PyTorch's dilation (1 = none); its contents are never
// read.  In its shape, because MindSpore infers (and caches) output shapes from input shapes
// alone.  A fused ReLU (a oneDNN post-op, applied as the kernel writes) is inference-only.
//
// On small maps (VGG's last stages at low resolution) oneDNN has no direct kernel for the
// weight gradient and runs one GEMM per image; there it is one GEMM over the whole batch
// (backward_weights_gemm).
#include <map>
#include <memory>

#include "onednn_runtime.h"

using namespace mmcls_onednn;

namespace {

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
    check(dnnl_memory_set_data_handle(user, const_cast<void *>(data)), "set_data_handle");
    if (!reorder) return user;
    check(dnnl_memory_set_data_handle(blocked, scratch(slot, blocked_bytes)), "set_data_handle");
    if (into_kernel) {
      dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, user}, {DNNL_ARG_DST, blocked}};
      execute(reorder, args, 2, Profile::kReorder, 0, "reorder");
    }
    return blocked;
  }
  // For outputs: copy the kernel's result back to the user tensor.
  void write_back() {
    if (!reorder || into_kernel) return;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, blocked}, {DNNL_ARG_DST, user}};
    execute(reorder, args, 2, Profile::kReorder, 0, "reorder");
  }
};

struct Geometry {
  int64_t n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw, relu;  // dh, dw: PyTorch dilation
  int64_t out_h() const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
  int64_t out_w() const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
  double gflop() const { return 2e-9 * n * k * out_h() * out_w() * c * kh * kw; }
  auto key() const {
    return std::make_tuple(n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw, relu);
  }
  bool operator<(const Geometry &other) const { return key() < other.key(); }
};

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
    dnnl_primitive_attr_t attr = nullptr;
    if (g.relu) {
      dnnl_post_ops_t post_ops = nullptr;
      check(dnnl_post_ops_create(&post_ops), "post_ops_create");
      check(dnnl_post_ops_append_eltwise(post_ops, DNNL_ELTWISE_RELU, 0.f, 0.f), "append_relu");
      check(dnnl_primitive_attr_create(&attr), "attr_create");
      check(dnnl_primitive_attr_set_post_ops(attr, post_ops), "set_post_ops");
      dnnl_post_ops_destroy(post_ops);
    }
    // forward_training also for inference: the same kernels whether or not a backward follows
    dnnl_status_t status = dnnl_convolution_forward_primitive_desc_create(
        &fwd_pd_, rt.engine, DNNL_FORWARD_TRAINING, DNNL_CONVOLUTION_DIRECT, any_src_,
        any_weights_, bias_, any_dst_, strides_, dilates_, pad_l_, pad_r_, attr);
    if (attr) dnnl_primitive_attr_destroy(attr);
    check(status, "convolution_forward_desc_create");
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

  // Both backward passes in one call, so that dy is reordered once when the two kernels
  // want it in the same layout (they do for the direct kernels): 1/9 of a step's reorders.
  void backward(const float *dy, const float *x, const float *w, float *dx, float *dw,
                float *db) {
    prepare_backward();
    dnnl_memory_t dy_kernel = bwd_data_dy_.bind(dy);
    dnnl_exec_arg_t data_args[3] = {{DNNL_ARG_DIFF_DST, dy_kernel},
                                    {DNNL_ARG_WEIGHTS, bwd_data_weights_.bind(w)},
                                    {DNNL_ARG_DIFF_SRC, bwd_data_dx_.bind(dx)}};
    run(bwd_data_, Profile::kBackwardData, data_args, 3, bwd_data_dx_, "convolution_bwd_data");
    if (gemm_weights_) {
      backward_weights_gemm(dy, x, dw, db);
      return;
    }
    if (!dy_shared_) dy_kernel = bwd_weights_dy_.bind(dy);
    dnnl_exec_arg_t weights_args[4] = {{DNNL_ARG_SRC, bwd_weights_x_.bind(x)},
                                       {DNNL_ARG_DIFF_DST, dy_kernel},
                                       {DNNL_ARG_DIFF_WEIGHTS, bwd_weights_dw_.bind(dw)},
                                       {DNNL_ARG_DIFF_BIAS, bwd_weights_db_.bind(db)}};
    run(bwd_weights_, Profile::kBackwardWeights, weights_args, 4, bwd_weights_dw_,
        "convolution_bwd_weights");
  }

 private:
  // Runs one kernel (timed when profiling), then copies its output back to NCHW.
  void run(dnnl_primitive_t primitive, Profile::Kind kind, const dnnl_exec_arg_t *args,
           int nargs, Operand &output, const char *what) {
    execute(primitive, args, nargs, kind, g_.gflop(), what);
    output.write_back();
  }

  // The weight gradient as GEMMs over many images at once:
  //   dw[k][c*kh*kw] = sum over (image, output pixel) of dy[k][pixel] * im2col(x)[c*kh*kw][pixel]
  // oneDNN's gemm convolution runs one GEMM per image, whose inner dimension is the output
  // pixel count: 1 or 4 for VGG's last stages at small inputs, where it managed 7-14 GFLOP/s.
  // Images are taken in chunks so that im2col(x) stays within kGemmColumnsBytes.
  void backward_weights_gemm(const float *dy, const float *x, float *dw, float *db) {
    Timed timed(Profile::kBackwardWeights, g_.gflop());
    Runtime &rt = runtime();
    const int64_t oh = g_.out_h(), ow = g_.out_w(), pixels = oh * ow;
    const int64_t rows = g_.c * g_.kh * g_.kw;
    const int64_t chunk = gemm_chunk_images();
    float *columns = static_cast<float *>(scratch(3, sizeof(float) * rows * chunk * pixels));
    float *dy_by_channel = static_cast<float *>(scratch(4, sizeof(float) * g_.k * chunk * pixels));
    std::vector<double> bias_sums(g_.k, 0.);
    for (int64_t first = 0; first < g_.n; first += chunk) {
      const int64_t images = std::min(chunk, g_.n - first), width = images * pixels;
      // im2col: row (c, i, j), column (image, output pixel); zero where the window is padding
      rt.pool->parallel_for(static_cast<int>(rows), [&](int row, int) {
        const int64_t c = row / (g_.kh * g_.kw), i = row / g_.kw % g_.kh, j = row % g_.kw;
        float *out = columns + row * width;
        for (int64_t n = 0; n < images; ++n) {
          const float *plane = x + ((first + n) * g_.c + c) * g_.h * g_.w;
          for (int64_t y = 0; y < oh; ++y) {
            const int64_t in_y = y * g_.sh - g_.ph + i * g_.dh;
            for (int64_t z = 0; z < ow; ++z) {
              const int64_t in_x = z * g_.sw - g_.pw + j * g_.dw;
              *out++ = (in_y >= 0 && in_y < g_.h && in_x >= 0 && in_x < g_.w)
                           ? plane[in_y * g_.w + in_x] : 0.f;
            }
          }
        }
      });
      // dy as (output channel, image x pixel), and its sums for the bias gradient (in double:
      // a float sum over thousands of pixels drifts in the fifth digit)
      rt.pool->parallel_for(static_cast<int>(g_.k), [&](int k, int) {
        float *out = dy_by_channel + k * width;
        double sum = 0.;
        for (int64_t n = 0; n < images; ++n) {
          const float *plane = dy + ((first + n) * g_.k + k) * pixels;
          for (int64_t p = 0; p < pixels; ++p) sum += (out[n * pixels + p] = plane[p]);
        }
        bias_sums[k] += sum;
      });
      check(dnnl_threadpool_interop_sgemm('N', 'T', g_.k, rows, width, 1.f, dy_by_channel, width,
                                          columns, width, first == 0 ? 0.f : 1.f, dw, rows,
                                          rt.pool.get()),
            "sgemm");
    }
    for (int64_t k = 0; k < g_.k; ++k) db[k] = static_cast<float>(bias_sums[k]);
  }

  // Images per GEMM: all of them when im2col(x) fits kGemmColumnsBytes.
  int64_t gemm_chunk_images() const {
    const int64_t per_image = sizeof(float) * g_.c * g_.kh * g_.kw * g_.out_h() * g_.out_w();
    return std::max<int64_t>(1, std::min<int64_t>(g_.n, kGemmColumnsBytes / per_image));
  }

  static constexpr int64_t kGemmColumnsBytes = 32 << 20;
  // Output maps up to this many pixels get the batched GEMM when oneDNN would run its
  // per-image gemm convolution; larger maps keep oneDNN's (each GEMM is then wide enough).
  static constexpr int64_t kGemmMaxPixels = 64;

  void prepare_backward() {
    if (bwd_data_) return;
    if (g_.relu) throw std::runtime_error("a convolution with a fused ReLU is inference-only");
    Runtime &rt = runtime();
    dnnl_primitive_desc_t data_pd = nullptr, weights_pd = nullptr;
    check(dnnl_convolution_backward_data_primitive_desc_create(
              &data_pd, rt.engine, DNNL_CONVOLUTION_DIRECT, any_src_, any_weights_, any_dst_,
              strides_, dilates_, pad_l_, pad_r_, fwd_pd_, nullptr),
          "convolution_bwd_data_desc_create");
    check(dnnl_primitive_create(&bwd_data_, data_pd), "convolution_bwd_data_create");
    check(dnnl_convolution_backward_weights_primitive_desc_create(
              &weights_pd, rt.engine, DNNL_CONVOLUTION_DIRECT, any_src_, any_weights_, bias_,
              any_dst_, strides_, dilates_, pad_l_, pad_r_, fwd_pd_, nullptr),
          "convolution_bwd_weights_desc_create");
    const std::string weights_impl = impl_name(weights_pd);
    gemm_weights_ = weights_impl.find("gemm") != std::string::npos &&
                    g_.out_h() * g_.out_w() <= kGemmMaxPixels;
    if (getenv("MMCLS_MS_ONEDNN_VERBOSE"))
      fprintf(stderr,
              "[mmcls_ms onednn conv] %ldx%ldx%ldx%ld -> %ld k%ldx%ld backward weights: %s\n",
              (long)g_.n, (long)g_.c, (long)g_.h, (long)g_.w, (long)g_.k, (long)g_.kh,
              (long)g_.kw, gemm_weights_ ? "batched sgemm" : weights_impl.c_str());

    // Scratch slots: dy (0) lives through both kernels; x and dw then reuse w's (1) and dx's (2).
    const_dnnl_memory_desc_t data_dy =
        dnnl_primitive_desc_query_md(data_pd, DNNL_QUERY_DIFF_DST_MD, 0);
    bwd_data_dy_.init(dst_, data_dy, true, 0);
    bwd_data_weights_.init(weights_,
                           dnnl_primitive_desc_query_md(data_pd, DNNL_QUERY_WEIGHTS_MD, 0), true,
                           1);
    bwd_data_dx_.init(src_, dnnl_primitive_desc_query_md(data_pd, DNNL_QUERY_DIFF_SRC_MD, 0), false,
                      2);
    // oneDNN's weight-gradient kernel and its operands, unless backward_weights_gemm replaces it
    if (!gemm_weights_) {
      check(dnnl_primitive_create(&bwd_weights_, weights_pd), "convolution_bwd_weights_create");
      const_dnnl_memory_desc_t weights_dy =
          dnnl_primitive_desc_query_md(weights_pd, DNNL_QUERY_DIFF_DST_MD, 0);
      dy_shared_ = dnnl_memory_desc_equal(data_dy, weights_dy);
      bwd_weights_x_.init(src_, dnnl_primitive_desc_query_md(weights_pd, DNNL_QUERY_SRC_MD, 0),
                          true, 1);
      if (!dy_shared_) bwd_weights_dy_.init(dst_, weights_dy, true, 0);
      bwd_weights_dw_.init(weights_,
                           dnnl_primitive_desc_query_md(weights_pd, DNNL_QUERY_DIFF_WEIGHTS_MD,
                                                        0),
                           false, 2);
      bwd_weights_db_.init(bias_, bias_, false, 0);
    }
    dnnl_primitive_desc_destroy(data_pd);
    dnnl_primitive_desc_destroy(weights_pd);
  }

  Geometry g_;
  dnnl_memory_desc_t src_, weights_, dst_, bias_, any_src_, any_weights_, any_dst_;
  dnnl_dims_t strides_ = {}, dilates_ = {}, pad_l_ = {}, pad_r_ = {};
  dnnl_primitive_desc_t fwd_pd_ = nullptr;
  dnnl_primitive_t fwd_ = nullptr, bwd_data_ = nullptr, bwd_weights_ = nullptr;
  Operand fwd_src_, fwd_weights_, fwd_bias_, fwd_dst_;
  Operand bwd_data_dy_, bwd_data_weights_, bwd_data_dx_;
  Operand bwd_weights_x_, bwd_weights_dy_, bwd_weights_dw_, bwd_weights_db_;
  bool dy_shared_ = false;  // both backward kernels take dy in the same layout
  bool gemm_weights_ = false;  // the weight gradient by backward_weights_gemm
};

std::map<Geometry, std::unique_ptr<Convolution>> g_convolutions;

Convolution &convolution(const int64_t *x_shape, const int64_t *w_shape, const int64_t *geometry) {
  Geometry g{x_shape[0], x_shape[1], x_shape[2], x_shape[3], w_shape[0], w_shape[2], w_shape[3],
             geometry[0], geometry[1], geometry[2] - 1, geometry[3] - 1, geometry[4], geometry[5],
             geometry[6] - 1};
  std::unique_ptr<Convolution> &conv = g_convolutions[g];
  if (!conv) conv.reset(new Convolution(g));
  return *conv;
}

}  // namespace

// MindSpore aot signature.  inputs: x, w, b, geometry | output: y
extern "C" int conv2d_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                              const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 5, {4, 4, kAnyRank, 7}, 3)) return 1;
  const AotParams p{params};
  return guarded("conv2d_forward", [&] {
    convolution(shapes[0], shapes[1], shapes[3]).forward(p.in(0), p.in(1), p.in(2), p.out(4));
  });
}

// inputs: dy, x, w, geometry | outputs: dx, dw, db
extern "C" int conv2d_backward(int nparam, void **params, int *ndims, int64_t **shapes,
                               const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 7, {kAnyRank, 4, 4, 7}, 3)) return 1;
  const AotParams p{params};
  return guarded("conv2d_backward", [&] {
    convolution(shapes[1], shapes[2], shapes[3])
        .backward(p.in(0), p.in(1), p.in(2), p.out(4), p.out(5), p.out(6));
  });
}

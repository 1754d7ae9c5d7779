// 2-D max and average pooling (forward and backward) for MindSpore's Custom(aot) op on CPU,
// through the oneDNN that MindSpore ships.  MindSpore 2.10 runs these pools with its own CPU
// kernels at about 1 GB/s; oneDNN's pooling runs on the same NCHW tensors at several times that.
#include <map>
#include <memory>
#include <vector>

#include "onednn_runtime.h"

using namespace mmcls_onednn;

namespace {

dnnl_memory_t plain_memory(const_dnnl_memory_desc_t desc) {
  dnnl_memory_t memory = nullptr;
  check(dnnl_memory_create(&memory, desc, runtime().engine, nullptr), "memory_create");
  return memory;
}

// Max or average pooling of one shape, on plain NCHW tensors (no reorders: pooling is
// memory-bound, and oneDNN's NCHW kernels already run at memory speed).
class Pooling {
 public:
  // settings: kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, algorithm
  Pooling(const int64_t *x_shape, const int64_t *settings) {
    int64_t n = x_shape[0], c = x_shape[1], h = x_shape[2], w = x_shape[3];
    int64_t kh = settings[0], kw = settings[1], sh = settings[2], sw = settings[3];
    int64_t ph = settings[4], pw = settings[5];
    int64_t oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
    static const int algorithms[3] = {DNNL_POOLING_MAX, DNNL_POOLING_AVG_INCLUDE_PADDING,
                                      DNNL_POOLING_AVG_EXCLUDE_PADDING};
    algorithm_ = algorithms[settings[6]];
    src_ = make_desc({n, c, h, w}, DNNL_TAG_ABCD);
    dst_ = make_desc({n, c, oh, ow}, DNNL_TAG_ABCD);
    strides_[0] = sh, strides_[1] = sw, kernel_[0] = kh, kernel_[1] = kw;
    pad_l_[0] = ph, pad_l_[1] = pw;
    pad_r_[0] = (oh - 1) * sh + kh - h - ph, pad_r_[1] = (ow - 1) * sw + kw - w - pw;
    forward_ = create(DNNL_FORWARD_INFERENCE, nullptr);
    x_ = plain_memory(src_), y_ = plain_memory(dst_);
  }

  void forward(const float *x, float *y) {
    bind(x_, x), bind(y_, y);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, x_}, {DNNL_ARG_DST, y_}};
    execute(forward_, args, 2, Profile::kPooling, 0, "pooling_forward");
  }

  // dx from dy.  Max pooling needs the argmax workspace of a training forward: it is
  // recomputed here (one more memory-bound pass) instead of kept between the two ops.
  void backward(const float *dy, const float *x, float *dx) {
    prepare_backward();
    bind(dy_, dy), bind(dx_, dx);
    if (workspace_) {
      bind(x_, x), bind(y_, scratch(0, dnnl_memory_desc_get_size(dst_)));
      dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, x_}, {DNNL_ARG_DST, y_},
                                 {DNNL_ARG_WORKSPACE, workspace_}};
      execute(training_forward_, args, 3, Profile::kPooling, 0, "pooling_forward_training");
    }
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, dy_}, {DNNL_ARG_DIFF_SRC, dx_},
                               {DNNL_ARG_WORKSPACE, workspace_}};
    execute(backward_, args, workspace_ ? 3 : 2, Profile::kPooling, 0, "pooling_backward");
  }

 private:
  static void bind(dnnl_memory_t memory, const void *data) {
    check(dnnl_memory_set_data_handle(memory, const_cast<void *>(data)), "set_data_handle");
  }

  dnnl_primitive_t create(int prop_kind, dnnl_primitive_desc_t *keep_pd) {
    dnnl_primitive_desc_t pd = nullptr;
    dnnl_dims_t dilation = {0, 0};
    check(dnnl_pooling_forward_primitive_desc_create(&pd, runtime().engine, prop_kind,
                                                     algorithm_, src_, dst_, strides_, kernel_,
                                                     dilation, pad_l_, pad_r_, nullptr),
          "pooling_forward_desc_create");
    dnnl_primitive_t primitive = nullptr;
    check(dnnl_primitive_create(&primitive, pd), "pooling_forward_create");
    if (getenv("MMCLS_MS_ONEDNN_VERBOSE"))
      fprintf(stderr, "[mmcls_ms onednn pool] %s\n", impl_name(pd).c_str());
    if (keep_pd)
      *keep_pd = pd;
    else
      dnnl_primitive_desc_destroy(pd);
    return primitive;
  }

  void prepare_backward() {
    if (backward_) return;
    dnnl_primitive_desc_t forward_pd = nullptr, pd = nullptr;
    training_forward_ = create(DNNL_FORWARD_TRAINING, &forward_pd);
    dnnl_dims_t dilation = {0, 0};
    check(dnnl_pooling_backward_primitive_desc_create(&pd, runtime().engine, algorithm_, src_,
                                                      dst_, strides_, kernel_, dilation, pad_l_,
                                                      pad_r_, forward_pd, nullptr),
          "pooling_backward_desc_create");
    check(dnnl_primitive_create(&backward_, pd), "pooling_backward_create");
    const_dnnl_memory_desc_t workspace = dnnl_primitive_desc_query_md(
        forward_pd, DNNL_QUERY_WORKSPACE_MD, 0);
    if (workspace && dnnl_memory_desc_get_size(workspace) > 0) {
      workspace_buffer_.resize(dnnl_memory_desc_get_size(workspace));
      check(dnnl_memory_create(&workspace_, workspace, runtime().engine,
                               workspace_buffer_.data()),
            "memory_create");
    }
    dy_ = plain_memory(dst_), dx_ = plain_memory(src_);
    dnnl_primitive_desc_destroy(forward_pd);
    dnnl_primitive_desc_destroy(pd);
  }

  int algorithm_ = 0;
  dnnl_memory_desc_t src_ = nullptr, dst_ = nullptr;
  dnnl_dims_t strides_ = {}, kernel_ = {}, pad_l_ = {}, pad_r_ = {};
  dnnl_primitive_t forward_ = nullptr, training_forward_ = nullptr, backward_ = nullptr;
  dnnl_memory_t x_ = nullptr, y_ = nullptr, dy_ = nullptr, dx_ = nullptr, workspace_ = nullptr;
  std::vector<char> workspace_buffer_;
};

std::map<std::vector<int64_t>, std::unique_ptr<Pooling>> g_poolings;

// The pooling of an input shape and a geometry tensor's shape (kernel_h, kernel_w, stride_h,
// stride_w, pad_h + 1, pad_w + 1, algorithm + 1; 0 max, 1 average with the padding counted,
// 2 average without).
Pooling &pooling(const int64_t *x_shape, const int64_t *geometry) {
  int64_t settings[7] = {geometry[0], geometry[1], geometry[2], geometry[3],
                         geometry[4] - 1, geometry[5] - 1, geometry[6] - 1};
  std::vector<int64_t> key(x_shape, x_shape + 4);
  key.insert(key.end(), settings, settings + 7);
  std::unique_ptr<Pooling> &pool = g_poolings[key];
  if (!pool) pool.reset(new Pooling(x_shape, settings));
  return *pool;
}

}  // namespace

// MindSpore aot signature.  inputs: x, geometry | output: y
extern "C" int pool2d_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                              const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 3, {4, 7}, 1)) return 1;
  const AotParams p{params};
  return guarded("pool2d_forward", [&] {
    pooling(shapes[0], shapes[1]).forward(p.in(0), p.out(2));
  });
}

// inputs: dy, x, geometry | output: dx
extern "C" int pool2d_backward(int nparam, void **params, int *ndims, int64_t **shapes,
                               const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 4, {kAnyRank, 4, 7}, 2)) return 1;
  const AotParams p{params};
  return guarded("pool2d_backward", [&] {
    pooling(shapes[1], shapes[2]).backward(p.in(0), p.in(1), p.out(3));
  });
}

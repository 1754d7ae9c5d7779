// 2-D max and average pooling (inference) for MindSpore's Custom(aot) op on CPU, through the
// oneDNN that MindSpore ships.  MindSpore 2.10 runs these pools with its own CPU kernels at
// about 1 GB/s; oneDNN's pooling runs on the same NCHW tensors at several times that.
#include <map>
#include <memory>
#include <vector>

#include "onednn_runtime.h"

using namespace mmcls_onednn;

namespace {

// Max or average pooling (inference), on plain NCHW tensors.
class Pooling {
 public:
  // settings: kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, algorithm
  Pooling(const int64_t *x_shape, const int64_t *settings) {
    Runtime &rt = runtime();
    int64_t n = x_shape[0], c = x_shape[1], h = x_shape[2], w = x_shape[3];
    int64_t kh = settings[0], kw = settings[1], sh = settings[2], sw = settings[3];
    int64_t ph = settings[4], pw = settings[5];
    int64_t oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
    static const int algorithms[3] = {DNNL_POOLING_MAX, DNNL_POOLING_AVG_INCLUDE_PADDING,
                                      DNNL_POOLING_AVG_EXCLUDE_PADDING};
    dnnl_memory_desc_t src = make_desc({n, c, h, w}, DNNL_TAG_ABCD);
    dnnl_memory_desc_t dst = make_desc({n, c, oh, ow}, DNNL_TAG_ABCD);
    dnnl_dims_t strides = {sh, sw}, kernel = {kh, kw}, dilation = {0, 0}, pad_l = {ph, pw};
    dnnl_dims_t pad_r = {(oh - 1) * sh + kh - h - ph, (ow - 1) * sw + kw - w - pw};
    dnnl_primitive_desc_t pd = nullptr;
    check(dnnl_pooling_forward_primitive_desc_create(
              &pd, rt.engine, DNNL_FORWARD_INFERENCE, algorithms[settings[6]], src, dst,
              strides, kernel, dilation, pad_l, pad_r, nullptr),
          "pooling_forward_desc_create");
    check(dnnl_primitive_create(&primitive_, pd), "pooling_forward_create");
    src_.init(src, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_SRC_MD, 0), true, 0);
    dst_.init(dst, dnnl_primitive_desc_query_md(pd, DNNL_QUERY_DST_MD, 0), false, 1);
    if (getenv("MMCLS_MS_ONEDNN_VERBOSE"))
      fprintf(stderr, "[mmcls_ms onednn pool] %ldx%ldx%ldx%ld k%ldx%ld: %s\n", (long)n, (long)c,
              (long)h, (long)w, (long)kh, (long)kw, impl_name(pd).c_str());
    dnnl_primitive_desc_destroy(pd);
  }
  void forward(const float *x, float *y) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src_.bind(x)}, {DNNL_ARG_DST, dst_.bind(y)}};
    {
      Timed timed(Profile::kPooling, 0);
      check(dnnl_primitive_execute(primitive_, runtime().stream, 2, args), "pooling_forward");
      check(dnnl_stream_wait(runtime().stream), "stream_wait");
    }
    dst_.write_back();
  }

 private:
  dnnl_primitive_t primitive_ = nullptr;
  Operand src_, dst_;
};

std::map<std::vector<int64_t>, std::unique_ptr<Pooling>> g_poolings;

}  // namespace

// inputs: x, geometry (its shape: kernel_h, kernel_w, stride_h, stride_w, pad_h + 1, pad_w + 1,
// algorithm + 1) | output: y
extern "C" int pool2d_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                              const char **dtypes, void *stream, void *extra) {
  if (nparam != 3 || ndims[0] != 4 || ndims[1] != 7 || !all_float32(1, dtypes)) return 1;
  return guarded("pool2d_forward", [&] {
    const int64_t *g = shapes[1];
    int64_t settings[7] = {g[0], g[1], g[2], g[3], g[4] - 1, g[5] - 1, g[6] - 1};
    std::vector<int64_t> key(shapes[0], shapes[0] + 4);
    key.insert(key.end(), settings, settings + 7);
    std::unique_ptr<Pooling> &pool = g_poolings[key];
    if (!pool) pool.reset(new Pooling(shapes[0], settings));
    pool->forward(static_cast<const float *>(params[0]), static_cast<float *>(params[2]));
  });
}

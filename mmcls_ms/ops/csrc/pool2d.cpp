// 2-D max and average pooling (forward and backward) on NCHW fp32, for MindSpore's Custom(aot)
// op on CPU.
//
// Why: MindSpore 2.10 runs these pools with its own CPU kernels at about 1 GB/s, and oneDNN's
// pooling on plain NCHW is its `simple_nchw` kernel, about as slow; its max-pool backward
// also needs a training forward for the argmax workspace, so a backward was three passes.
// Here each (image, channel) plane is one task on a pool of the kernels' threads, and each
// output row is built by the loop order (window row, window column, output column), whose
// inner loop runs over contiguous outputs and vectorises.  The max-pool backward recomputes the
// argmax from x, row by row, and routes dy there in the same pass: ties go to the first
// maximum in row-major window order, a NaN to the last NaN (as PyTorch, oneDNN and MindSpore).
// Windows that tile the input (kernel == stride, no padding: VGG's 2x2/2) write dx directly;
// overlapping ones (Inception's 3x3/2) zero each dx plane while it is in cache, then add.
//
// Padding is implicit: windows are clipped to the input, which is what the right padding
// pad_r = (out - 1) * stride + kernel - in - pad of floor mode amounts to (a window may hang
// over the right or bottom edge only into that padding).  Average pooling divides by
// kernel_h * kernel_w with the padding counted, or by the window's pixels inside the input.
//
// Measured (2-core AMD EPYC, AVX2; `MMCLS_MS_ONEDNN_PROFILE=1`, pooling per training step):
// see benchmarks/README.md, "Pooling".
#include <cmath>
#include <limits>

#include "onednn_runtime.h"

using namespace mmcls_onednn;

namespace {
namespace pool2d {

enum Algorithm { kMax = 0, kAvgIncludePadding = 1, kAvgExcludePadding = 2 };

struct PoolingKind {};  // the pools' own thread pool and lock (see SidePool)
SidePool &pool_runtime() { return side_pool<PoolingKind>(); }

// One pooling shape: sizes, and for each window column the outputs whose window has that
// column inside the input.
struct Geometry {
  int64_t planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
  Algorithm algorithm;
  std::vector<int64_t> first_ox, end_ox;  // per window column kx: outputs [first, end)
  std::vector<float> columns_inside;      // per output column: window columns inside

  // settings: kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, algorithm
  Geometry(const int64_t *x_shape, const int64_t *settings)
      : planes(x_shape[0] * x_shape[1]), h(x_shape[2]), w(x_shape[3]), kh(settings[0]),
        kw(settings[1]), sh(settings[2]), sw(settings[3]), ph(settings[4]), pw(settings[5]),
        oh((h + 2 * ph - kh) / sh + 1), ow((w + 2 * pw - kw) / sw + 1),
        algorithm(static_cast<Algorithm>(settings[6])) {
    for (int64_t kx = 0; kx < kw; ++kx) {
      // ox * sw - pw + kx in [0, w)
      int64_t low = pw - kx, high = w - 1 + pw - kx;
      int64_t first = low <= 0 ? 0 : (low + sw - 1) / sw;
      int64_t end = high < 0 ? 0 : std::min(ow, high / sw + 1);
      first_ox.push_back(first);
      end_ox.push_back(std::max(first, end));
    }
    columns_inside.assign(ow, 0.f);
    for (int64_t kx = 0; kx < kw; ++kx)
      for (int64_t ox = first_ox[kx]; ox < end_ox[kx]; ++ox) columns_inside[ox] += 1.f;
  }

  // Windows that tile the input: each input pixel is in at most one window.
  bool tiles() const { return kh == sh && kw == sw && ph == 0 && pw == 0; }
  int64_t plane_size() const { return h * w; }
  int64_t out_plane_size() const { return oh * ow; }
  // The window rows of output row oy that are inside the input: [first, end).
  int64_t first_ky(int64_t oy) const { return std::max<int64_t>(0, ph - oy * sh); }
  int64_t end_ky(int64_t oy) const { return std::min(kh, h + ph - oy * sh); }
  int64_t input_row(int64_t oy, int64_t ky) const { return oy * sh - ph + ky; }
  // The input column of output column ox's window column kx.
  int64_t input_column(int64_t ox, int64_t kx) const { return ox * sw - pw + kx; }
  float divisor(int64_t oy, int64_t ox) const {
    if (algorithm == kAvgIncludePadding) return static_cast<float>(kh * kw);
    return static_cast<float>(end_ky(oy) - first_ky(oy)) * columns_inside[ox];
  }
};

// Runs fn(first_plane, end_plane) over ranges of planes on the pools' thread pool (a few
// ranges per thread, so a helper that joins late still takes its share).
template <typename Fn>
void for_planes(int64_t planes, Fn fn) {
  Pool &pool = pool_runtime().pool;
  int tasks = static_cast<int>(std::min<int64_t>(planes, 4 * pool.get_num_threads()));
  pool.parallel_for(tasks, [&](int task, int n_tasks) {
    fn(planes * task / n_tasks, planes * (task + 1) / n_tasks);
  });
}

// Strides of 1 and 2 (every pool of VGG and InceptionV3) are compile-time constants, so the
// inner loops' loads vectorise; kStride 0 reads the stride from the geometry.
template <int kStride>
struct Columns {
  int64_t stride;
  explicit Columns(const Geometry &g) : stride(kStride ? kStride : g.sw) {}
};

// Output row oy of one plane's max pooling: the maximum in `best` and, with `argmax`, its
// offset in the plane.  The loop visits each window in row-major order and takes a value
// greater than the best so far, or a NaN.
template <int kStride>
void max_row(const Geometry &g, const float *__restrict x, int64_t oy, float *__restrict best,
             int32_t *__restrict argmax) {
  const int64_t sw = Columns<kStride>(g).stride;
  const int64_t ky0 = g.first_ky(oy), ky1 = g.end_ky(oy);
  for (int64_t ox = 0; ox < g.ow; ++ox) {
    best[ox] = -std::numeric_limits<float>::infinity();
    // the window's first pixel inside the input: the argmax if all are -inf
    if (argmax)
      argmax[ox] = static_cast<int32_t>(g.input_row(oy, ky0) * g.w +
                                        std::max<int64_t>(0, g.input_column(ox, 0)));
  }
  for (int64_t ky = ky0; ky < ky1; ++ky) {
    const int64_t row_offset = g.input_row(oy, ky) * g.w;
    const float *row = x + row_offset;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t first = g.first_ox[kx], end = g.end_ox[kx], shift = kx - g.pw;
      if (argmax) {
        for (int64_t ox = first; ox < end; ++ox) {
          float v = row[ox * sw + shift];
          bool take = v > best[ox] || v != v;
          best[ox] = take ? v : best[ox];
          argmax[ox] = take ? static_cast<int32_t>(row_offset + ox * sw + shift) : argmax[ox];
        }
      } else {
        for (int64_t ox = first; ox < end; ++ox) {
          float v = row[ox * sw + shift];
          best[ox] = (v > best[ox] || v != v) ? v : best[ox];
        }
      }
    }
  }
}

// Output row oy of one plane's average pooling, as sums over the window, into `sum`.
template <int kStride>
void sum_row(const Geometry &g, const float *__restrict x, int64_t oy, float *__restrict sum) {
  const int64_t sw = Columns<kStride>(g).stride;
  std::fill(sum, sum + g.ow, 0.f);
  for (int64_t ky = g.first_ky(oy); ky < g.end_ky(oy); ++ky) {
    const float *row = x + g.input_row(oy, ky) * g.w;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t first = g.first_ox[kx], end = g.end_ox[kx], shift = kx - g.pw;
      for (int64_t ox = first; ox < end; ++ox) sum[ox] += row[ox * sw + shift];
    }
  }
}

template <int kStride>
void forward(const Geometry &g, const float *x, float *y) {
  for_planes(g.planes, [&](int64_t first, int64_t end) {
    std::vector<float> sum(g.ow);
    for (int64_t plane = first; plane < end; ++plane) {
      const float *src = x + plane * g.plane_size();
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        float *dst = y + plane * g.out_plane_size() + oy * g.ow;
        if (g.algorithm == kMax) {
          max_row<kStride>(g, src, oy, dst, nullptr);
        } else {
          sum_row<kStride>(g, src, oy, sum.data());
          for (int64_t ox = 0; ox < g.ow; ++ox) dst[ox] = sum[ox] / g.divisor(oy, ox);
        }
      }
    }
  });
}

// dx of one plane where the windows tile the input: each window's pixels are written once
// (dy at the argmax and 0 elsewhere, or the window's share of dy), the pixels outside every
// window get 0.
template <int kStride>
void backward_tiled(const Geometry &g, const float *__restrict x, const float *__restrict dy,
                    float *__restrict dx, float *__restrict share, int32_t *__restrict argmax) {
  const int64_t sw = Columns<kStride>(g).stride;
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const float *grad = dy + oy * g.ow;
    if (g.algorithm == kMax)
      max_row<kStride>(g, x, oy, share, argmax);  // `share` holds the maxima, unused
    else
      for (int64_t ox = 0; ox < g.ow; ++ox) share[ox] = grad[ox] / g.divisor(oy, ox);
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t row_offset = (oy * g.sh + ky) * g.w;
      float *row = dx + row_offset;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        if (g.algorithm == kMax) {
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int32_t at = static_cast<int32_t>(row_offset + ox * sw + kx);
            row[ox * sw + kx] = argmax[ox] == at ? grad[ox] : 0.f;
          }
        } else {
          for (int64_t ox = 0; ox < g.ow; ++ox) row[ox * sw + kx] = share[ox];
        }
      }
      std::fill(row + g.ow * sw, row + g.w, 0.f);  // the columns right of the last window
    }
  }
  std::fill(dx + g.oh * g.sh * g.w, dx + g.plane_size(), 0.f);  // rows below the last window
}

// dx of one plane where windows overlap or are padded: zeroed, then each window adds its
// gradient (at the argmax, or its share to every pixel inside the input).
template <int kStride>
void backward_accumulated(const Geometry &g, const float *__restrict x,
                          const float *__restrict dy, float *__restrict dx,
                          float *__restrict share, int32_t *__restrict argmax) {
  const int64_t sw = Columns<kStride>(g).stride;
  std::fill(dx, dx + g.plane_size(), 0.f);
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const float *grad = dy + oy * g.ow;
    if (g.algorithm == kMax) {
      max_row<kStride>(g, x, oy, share, argmax);
      for (int64_t ox = 0; ox < g.ow; ++ox) dx[argmax[ox]] += grad[ox];
      continue;
    }
    for (int64_t ox = 0; ox < g.ow; ++ox) share[ox] = grad[ox] / g.divisor(oy, ox);
    for (int64_t ky = g.first_ky(oy); ky < g.end_ky(oy); ++ky) {
      float *row = dx + g.input_row(oy, ky) * g.w;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t first = g.first_ox[kx], end = g.end_ox[kx], shift = kx - g.pw;
        for (int64_t ox = first; ox < end; ++ox) row[ox * sw + shift] += share[ox];
      }
    }
  }
}

template <int kStride>
void backward(const Geometry &g, const float *dy, const float *x, float *dx) {
  const bool tiles = g.tiles();
  for_planes(g.planes, [&](int64_t first, int64_t end) {
    std::vector<float> share(g.ow);
    std::vector<int32_t> argmax(g.ow);
    for (int64_t plane = first; plane < end; ++plane) {
      const float *src = x + plane * g.plane_size(), *grad = dy + plane * g.out_plane_size();
      float *out = dx + plane * g.plane_size();
      if (tiles)
        backward_tiled<kStride>(g, src, grad, out, share.data(), argmax.data());
      else
        backward_accumulated<kStride>(g, src, grad, out, share.data(), argmax.data());
    }
  });
}

// The geometry of an input shape and a geometry tensor's shape (kernel_h, kernel_w, stride_h,
// stride_w, pad_h + 1, pad_w + 1, algorithm + 1; 0 max, 1 average with the padding counted,
// 2 average without).
Geometry geometry(const int64_t *x_shape, const int64_t *shape) {
  const int64_t settings[7] = {shape[0], shape[1], shape[2], shape[3],
                               shape[4] - 1, shape[5] - 1, shape[6] - 1};
  return Geometry(x_shape, settings);
}

}  // namespace pool2d
}  // namespace

// MindSpore aot signature.  inputs: x, geometry | output: y
extern "C" int pool2d_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                              const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 3, {4, 7}, 1)) return 1;
  const AotParams p{params};
  return guarded("pool2d_forward", [&] {
    Timed timed(Profile::kPooling, 0);
    const pool2d::Geometry g = pool2d::geometry(shapes[0], shapes[1]);
    if (g.sw == 1)
      pool2d::forward<1>(g, p.in(0), p.out(2));
    else if (g.sw == 2)
      pool2d::forward<2>(g, p.in(0), p.out(2));
    else
      pool2d::forward<0>(g, p.in(0), p.out(2));
  }, pool2d::pool_runtime().lock);
}

// inputs: dy, x, geometry | output: dx
extern "C" int pool2d_backward(int nparam, void **params, int *ndims, int64_t **shapes,
                               const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 4, {kAnyRank, 4, 7}, 2)) return 1;
  const AotParams p{params};
  return guarded("pool2d_backward", [&] {
    Timed timed(Profile::kPooling, 0);
    const pool2d::Geometry g = pool2d::geometry(shapes[1], shapes[2]);
    if (g.sw == 1)
      pool2d::backward<1>(g, p.in(0), p.in(1), p.out(3));
    else if (g.sw == 2)
      pool2d::backward<2>(g, p.in(0), p.in(1), p.out(3));
    else
      pool2d::backward<0>(g, p.in(0), p.in(1), p.out(3));
  }, pool2d::pool_runtime().lock);
}

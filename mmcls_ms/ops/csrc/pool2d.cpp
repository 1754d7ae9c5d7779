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
// Measured on a 2-core AMD EPYC (AVX2), pooling per training step from
// `MMCLS_MS_ONEDNN_PROFILE=1 python tools/analysis_tools/benchmark.py CONFIG --task train ...`,
// oneDNN's pooling -> these loops: VGG-11-BN digits at 32 px, batch 32, 71-115 -> 9-14 ms;
// InceptionV3 at batch 8, 1.6-1.8 -> 0.26-0.31 s.  Details in benchmarks/README.md, "Pooling".
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
  int64_t inner_first = 0, inner_end = 0;  // the outputs whose window columns are all inside
  std::vector<float> columns_counted;      // per output column: its divisor's columns

  // settings: kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, algorithm
  Geometry(const int64_t *x_shape, const int64_t *settings)
      : planes(x_shape[0] * x_shape[1]), h(x_shape[2]), w(x_shape[3]), kh(settings[0]),
        kw(settings[1]), sh(settings[2]), sw(settings[3]), ph(settings[4]), pw(settings[5]),
        oh((h + 2 * ph - kh) / sh + 1), ow((w + 2 * pw - kw) / sw + 1),
        algorithm(static_cast<Algorithm>(settings[6])) {
    inner_end = ow;
    for (int64_t kx = 0; kx < kw; ++kx) {
      // ox * sw - pw + kx in [0, w)
      int64_t low = pw - kx, high = w - 1 + pw - kx;
      int64_t first = low <= 0 ? 0 : (low + sw - 1) / sw;
      int64_t end = high < 0 ? 0 : std::min(ow, high / sw + 1);
      first_ox.push_back(first);
      end_ox.push_back(std::max(first, end));
      inner_first = std::max(inner_first, first);
      inner_end = std::min(inner_end, end);
    }
    inner_end = std::max(inner_first, inner_end);
    columns_counted.assign(ow, algorithm == kAvgIncludePadding ? static_cast<float>(kw) : 0.f);
    if (algorithm == kAvgExcludePadding)
      for (int64_t kx = 0; kx < kw; ++kx)
        for (int64_t ox = first_ox[kx]; ox < end_ox[kx]; ++ox) columns_counted[ox] += 1.f;
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
  // The divisor of output row oy's averages is this times columns_counted[ox].
  float rows_counted(int64_t oy) const {
    return static_cast<float>(algorithm == kAvgIncludePadding ? kh : end_ky(oy) - first_ky(oy));
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

// The window width and column stride, compile-time constants for the common pools (2x2/2,
// 3x3/2, 3x3/1: every pool of VGG and InceptionV3), so the inner loops unroll and vectorise;
// 0 reads them from the geometry.
template <int kWidth, int kStride>
struct Window {
  int64_t kw, sw;
  explicit Window(const Geometry &g) : kw(kWidth ? kWidth : g.kw), sw(kStride ? kStride : g.sw) {}
};

// Whether max pooling takes v over the best so far: a greater value or a NaN, so the first
// maximum in row-major window order wins, and a NaN propagates.
inline bool takes(float v, float best) { return v > best || v != v; }

// The maximum of output (oy, ox)'s window, clipped to the input, and its position in the
// window (ky * w + kx: its offset from the window's top-left corner in the plane).
inline void max_window(const Geometry &g, const float *x, int64_t oy, int64_t ox, float &best,
                       int32_t &argmax) {
  const int64_t kx0 = std::max<int64_t>(0, g.pw - ox * g.sw);
  const int64_t kx1 = std::min(g.kw, g.w + g.pw - ox * g.sw);
  best = -std::numeric_limits<float>::infinity();
  // the window's first pixel inside the input: the argmax if all are -inf
  argmax = static_cast<int32_t>(g.first_ky(oy) * g.w + kx0);
  for (int64_t ky = g.first_ky(oy); ky < g.end_ky(oy); ++ky) {
    const float *row = x + g.input_row(oy, ky) * g.w;
    for (int64_t kx = kx0; kx < kx1; ++kx) {
      const float v = row[g.input_column(ox, kx)];
      if (takes(v, best)) best = v, argmax = static_cast<int32_t>(ky * g.w + kx);
    }
  }
}

// Output row oy of one plane's max pooling: the maxima in `best` and, with `argmax`, their
// positions in the window (ky * w + kx: a constant per window pixel, so the selects
// vectorise).
// Outputs whose window is clipped by the padding go one by one; the others together, window
// row by window row.
template <int kWidth, int kStride>
void max_row(const Geometry &g, const float *__restrict x, int64_t oy, float *__restrict best,
             int32_t *__restrict argmax) {
  const Window<kWidth, kStride> win(g);
  const int64_t first = g.inner_first, end = g.inner_end;
  for (int64_t ox = 0; ox < g.ow; ++ox) {
    if (ox == first) ox = end;  // the outputs in [first, end) come after
    if (ox == g.ow) break;
    int32_t unused;
    max_window(g, x, oy, ox, best[ox], argmax ? argmax[ox] : unused);
  }
  if (first == end) return;
  const int64_t ky0 = g.first_ky(oy), ky1 = g.end_ky(oy);
  for (int64_t ox = first; ox < end; ++ox) {
    best[ox] = -std::numeric_limits<float>::infinity();
    if (argmax) argmax[ox] = static_cast<int32_t>(ky0 * g.w);
  }
  for (int64_t ky = ky0; ky < ky1; ++ky) {
    const float *row = x + g.input_row(oy, ky) * g.w - g.pw;
    if (argmax) {
      const int32_t row_position = static_cast<int32_t>(ky * g.w);
      for (int64_t ox = first; ox < end; ++ox) {
        float b = best[ox];
        int32_t a = argmax[ox];
        for (int64_t kx = 0; kx < win.kw; ++kx) {
          const float v = row[ox * win.sw + kx];
          const bool take = takes(v, b);
          b = take ? v : b;
          a = take ? row_position + static_cast<int32_t>(kx) : a;
        }
        best[ox] = b, argmax[ox] = a;
      }
    } else {
      for (int64_t ox = first; ox < end; ++ox) {
        float b = best[ox];
        for (int64_t kx = 0; kx < win.kw; ++kx) {
          const float v = row[ox * win.sw + kx];
          b = takes(v, b) ? v : b;
        }
        best[ox] = b;
      }
    }
  }
}

// A copy of one plane inside its padding, for average pooling: the padding is zeros, which
// add nothing to a sum, so every window is whole and the loops over a row have no edges
// (InceptionV3's planes are 8 to 35 pixels wide: the edges cost as much as the rest).
struct PaddedPlane {
  int64_t hp, wp;  // the rows and columns the windows cover
  std::vector<float> data;
  explicit PaddedPlane(const Geometry &g)
      : hp((g.oh - 1) * g.sh + g.kh), wp((g.ow - 1) * g.sw + g.kw), data(hp * wp, 0.f) {}
  float *row(int64_t iy) { return data.data() + iy * wp; }
  // the input rows and columns inside the covered area: [0, rows) x [0, columns)
  int64_t rows(const Geometry &g) const { return std::min(g.h, hp - g.ph); }
  int64_t columns(const Geometry &g) const { return std::min(g.w, wp - g.pw); }
  // Copies a plane in (the padding stays zero from the constructor).
  void load(const Geometry &g, const float *x) {
    for (int64_t iy = 0; iy < rows(g); ++iy)
      std::copy(x + iy * g.w, x + iy * g.w + columns(g), row(iy + g.ph) + g.pw);
  }
  // Copies the plane out, with 0 where no window reaches.
  void store(const Geometry &g, float *x) {
    for (int64_t iy = 0; iy < g.h; ++iy) {
      float *dst = x + iy * g.w;
      const int64_t copied = iy < rows(g) ? columns(g) : 0;
      if (copied) std::copy(row(iy + g.ph) + g.pw, row(iy + g.ph) + g.pw + copied, dst);
      std::fill(dst + copied, dst + g.w, 0.f);
    }
  }
};

// Output row oy of one padded plane's average pooling, as sums over the window, into `sum`.
template <int kWidth, int kStride>
void sum_row(const Geometry &g, PaddedPlane &plane, int64_t oy, float *__restrict sum) {
  const Window<kWidth, kStride> win(g);
  std::fill(sum, sum + g.ow, 0.f);
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const float *__restrict row = plane.row(oy * g.sh + ky);
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      float total = sum[ox];
      for (int64_t kx = 0; kx < win.kw; ++kx) total += row[ox * win.sw + kx];
      sum[ox] = total;
    }
  }
}

template <int kWidth, int kStride>
void forward(const Geometry &g, const float *x, float *y) {
  for_planes(g.planes, [&](int64_t first, int64_t end) {
    std::vector<float> sum(g.ow);
    std::unique_ptr<PaddedPlane> padded(g.algorithm == kMax ? nullptr : new PaddedPlane(g));
    for (int64_t plane = first; plane < end; ++plane) {
      const float *src = x + plane * g.plane_size();
      if (padded) padded->load(g, src);
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        float *__restrict dst = y + plane * g.out_plane_size() + oy * g.ow;
        if (g.algorithm == kMax) {
          max_row<kWidth, kStride>(g, src, oy, dst, nullptr);
        } else {
          sum_row<kWidth, kStride>(g, *padded, oy, sum.data());
          const float rows = g.rows_counted(oy), *columns = g.columns_counted.data();
          for (int64_t ox = 0; ox < g.ow; ++ox) dst[ox] = sum[ox] / (rows * columns[ox]);
        }
      }
    }
  });
}

// dy / divisor for output row oy: the share of each pixel of the window.
inline void average_shares(const Geometry &g, const float *__restrict grad, int64_t oy,
                           float *__restrict share) {
  const float rows = g.rows_counted(oy), *columns = g.columns_counted.data();
  for (int64_t ox = 0; ox < g.ow; ++ox) share[ox] = grad[ox] / (rows * columns[ox]);
}

// dx of one plane where the windows tile the input: each window's pixels are written once
// (dy at the argmax and 0 elsewhere, or the window's share of dy), the pixels outside every
// window get 0.
template <int kWidth, int kStride>
void backward_tiled(const Geometry &g, const float *__restrict x, const float *__restrict dy,
                    float *__restrict dx, float *__restrict share, int32_t *__restrict argmax) {
  const Window<kWidth, kStride> win(g);
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const float *__restrict grad = dy + oy * g.ow;
    if (g.algorithm == kMax)
      max_row<kWidth, kStride>(g, x, oy, share, argmax);  // `share` holds the maxima, unused
    else
      average_shares(g, grad, oy, share);
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      float *__restrict row = dx + (oy * g.sh + ky) * g.w;
      if (g.algorithm == kMax) {
        // dy where the argmax is, else 0, as a bit mask: a branch here mispredicts on
        // every other pixel, and the compiler keeps one for `? dy : 0.f`
        const int32_t row_position = static_cast<int32_t>(ky * g.w);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          uint32_t bits;
          std::memcpy(&bits, grad + ox, sizeof bits);
          for (int64_t kx = 0; kx < win.kw; ++kx) {
            const uint32_t mask = 0u - (argmax[ox] == row_position + static_cast<int32_t>(kx));
            const uint32_t routed = bits & mask;
            std::memcpy(row + ox * win.sw + kx, &routed, sizeof routed);
          }
        }
      } else {
        for (int64_t ox = 0; ox < g.ow; ++ox)
          for (int64_t kx = 0; kx < win.kw; ++kx) row[ox * win.sw + kx] = share[ox];
      }
      std::fill(row + g.ow * win.sw, row + g.w, 0.f);  // the columns right of the last window
    }
  }
  std::fill(dx + g.oh * g.sh * g.w, dx + g.plane_size(), 0.f);  // rows below the last window
}

// dx of one plane where windows overlap or are padded: zeroed, then each window adds its
// gradient (at the argmax, or its share to every pixel inside the input).
template <int kWidth, int kStride>
void backward_accumulated(const Geometry &g, const float *__restrict x,
                          const float *__restrict dy, float *__restrict dx,
                          float *__restrict share, int32_t *__restrict argmax,
                          PaddedPlane *padded) {
  const Window<kWidth, kStride> win(g);
  if (padded)  // average pooling adds into the padded plane, then copies it out
    std::fill(padded->data.begin(), padded->data.end(), 0.f);
  else
    std::fill(dx, dx + g.plane_size(), 0.f);
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const float *__restrict grad = dy + oy * g.ow;
    if (g.algorithm == kMax) {
      max_row<kWidth, kStride>(g, x, oy, share, argmax);
      const int64_t corner = g.input_row(oy, 0) * g.w + g.input_column(0, 0);
      for (int64_t ox = 0; ox < g.ow; ++ox) dx[corner + ox * win.sw + argmax[ox]] += grad[ox];
      continue;
    }
    average_shares(g, grad, oy, share);
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      float *__restrict row = padded->row(oy * g.sh + ky);
      for (int64_t kx = 0; kx < win.kw; ++kx)
        for (int64_t ox = 0; ox < g.ow; ++ox) row[ox * win.sw + kx] += share[ox];
    }
  }
  if (padded) padded->store(g, dx);
}

template <int kWidth, int kStride>
void backward(const Geometry &g, const float *dy, const float *x, float *dx) {
  const bool tiles = g.tiles();
  for_planes(g.planes, [&](int64_t first, int64_t end) {
    std::vector<float> share(g.ow);
    std::vector<int32_t> argmax(g.ow);
    std::unique_ptr<PaddedPlane> padded(
        g.algorithm == kMax || tiles ? nullptr : new PaddedPlane(g));
    for (int64_t plane = first; plane < end; ++plane) {
      const float *src = x + plane * g.plane_size(), *grad = dy + plane * g.out_plane_size();
      float *out = dx + plane * g.plane_size();
      if (tiles)
        backward_tiled<kWidth, kStride>(g, src, grad, out, share.data(), argmax.data());
      else
        backward_accumulated<kWidth, kStride>(g, src, grad, out, share.data(), argmax.data(),
                                              padded.get());
    }
  });
}

// Runs kernel<kWidth, kStride>(g, args...) with the window's width and stride as constants
// where they are one of the common pools'.
#define POOL2D_DISPATCH(kernel, g, ...)                         \
  do {                                                         \
    if ((g).kw == 2 && (g).sw == 2)                            \
      kernel<2, 2>((g), __VA_ARGS__);                          \
    else if ((g).kw == 3 && (g).sw == 2)                       \
      kernel<3, 2>((g), __VA_ARGS__);                          \
    else if ((g).kw == 3 && (g).sw == 1)                       \
      kernel<3, 1>((g), __VA_ARGS__);                          \
    else                                                       \
      kernel<0, 0>((g), __VA_ARGS__);                          \
  } while (0)

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
    POOL2D_DISPATCH(pool2d::forward, g, p.in(0), p.out(2));
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
    POOL2D_DISPATCH(pool2d::backward, g, p.in(0), p.in(1), p.out(3));
  }, pool2d::pool_runtime().lock);
}

// Training-mode batch norm with an optional fused ReLU, forward and backward, on NCHW fp32,
// for MindSpore's Custom(aot) op on CPU.
//
// Why: MindSpore 2.10 runs a training BatchNorm as oneDNN's `ncsp_bnorm` kernel, which moves
// NCHW data at 6 GB/s or less on this kind of CPU (11 ms for InceptionV3's first BN at batch 8,
// where three passes over 23 MB need 4 ms), and the ReLU after it is two more passes (forward
// and ReluGrad).  Here one op normalises and clips, and its backward recomputes the ReLU mask
// from x, so the layer reads x twice and writes y once forward, and reads x and dy twice and
// writes dx once backward.  Work is split by channel over the ops' thread pool.
//
// Statistics are accumulated in double (sum and sum of squares, one pass).  The running
// statistics are updated in place, as MindSpore's BatchNorm does (the op declares them as
// written inputs): moving = (1 - momentum) * moving + momentum * batch, the convention of
// MindSpore's BatchNorm primitive (nn.BatchNorm2d passes it 1 - its own momentum), with the
// unbiased batch variance.
//
// `settings` (float32, 3 values, read on the CPU): epsilon, momentum, relu (0 or 1).
#include <cmath>

#include "onednn_runtime.h"

using namespace mmcls_onednn;

namespace {

struct Layout {
  int64_t n, c, hw;
  explicit Layout(const int64_t *shape) : n(shape[0]), c(shape[1]), hw(shape[2] * shape[3]) {}
  int64_t count() const { return n * hw; }  // values per channel
  int64_t plane(int64_t image, int64_t channel) const { return (image * c + channel) * hw; }
};

// Independent float accumulators, one per SIMD lane (the compiler vectorises the loops over
// them without reassociating a single sum); each holds at most a few thousand values.
constexpr int kLanes = 16;
struct Lanes {
  float v[kLanes] = {};
  double total() const {
    double t = 0;
    for (float value : v) t += value;
    return t;
  }
};

struct BatchNormKind {};  // the batch norms' own pool and lock (see SidePool)
SidePool &bn_runtime() { return side_pool<BatchNormKind>(); }

// Runs fn(first, last) over channel ranges on the batch norms' pool.
template <typename Fn>
void for_channels(int64_t channels, Fn fn) {
  Pool &pool = bn_runtime().pool;
  int tasks = static_cast<int>(std::min<int64_t>(channels, pool.get_num_threads()));
  pool.parallel_for(tasks, [&](int task, int n_tasks) {
    int64_t first = channels * task / n_tasks, last = channels * (task + 1) / n_tasks;
    fn(first, last);
  });
}

void forward(const Layout &l, const float *x, const float *gamma, const float *beta,
             float *moving_mean, float *moving_var, const float *settings, float *y,
             float *save_mean, float *save_invstd) {
  const float eps = settings[0], momentum = settings[1];
  const bool relu = settings[2] != 0.f;
  const double count = static_cast<double>(l.count());
  for_channels(l.c, [&](int64_t first, int64_t last) {
    for (int64_t ch = first; ch < last; ++ch) {
      // shifted by one value of the channel: no cancellation in E[x^2] - E[x]^2 when
      // |mean| >> std
      const float pivot = x[l.plane(0, ch)];
      double sum = 0, sum_sq = 0;
      for (int64_t i = 0; i < l.n; ++i) {
        const float *src = x + l.plane(i, ch);
        Lanes s, q;
        int64_t k = 0;
        for (; k + kLanes <= l.hw; k += kLanes)
          for (int j = 0; j < kLanes; ++j) {
            float v = src[k + j] - pivot;
            s.v[j] += v;
            q.v[j] += v * v;
          }
        for (; k < l.hw; ++k) {
          float v = src[k] - pivot;
          s.v[0] += v;
          q.v[0] += v * v;
        }
        sum += s.total();
        sum_sq += q.total();
      }
      double shifted_mean = sum / count;
      double var = std::max(sum_sq / count - shifted_mean * shifted_mean, 0.0);
      double mean = shifted_mean + pivot;
      float invstd = static_cast<float>(1.0 / std::sqrt(var + eps));
      float scale = gamma[ch] * invstd;
      float shift = beta[ch] - static_cast<float>(mean) * scale;
      for (int64_t i = 0; i < l.n; ++i) {
        const float *src = x + l.plane(i, ch);
        float *dst = y + l.plane(i, ch);
        if (relu)
          for (int64_t k = 0; k < l.hw; ++k) dst[k] = std::max(src[k] * scale + shift, 0.f);
        else
          for (int64_t k = 0; k < l.hw; ++k) dst[k] = src[k] * scale + shift;
      }
      save_mean[ch] = static_cast<float>(mean);
      save_invstd[ch] = invstd;
      double unbiased = count > 1 ? var * count / (count - 1) : var;
      moving_mean[ch] = (1.f - momentum) * moving_mean[ch] + momentum * static_cast<float>(mean);
      moving_var[ch] = (1.f - momentum) * moving_var[ch] + momentum * static_cast<float>(unbiased);
    }
  });
}

void backward(const Layout &l, const float *dy, const float *x, const float *gamma,
              const float *beta, const float *save_mean, const float *save_invstd,
              const float *settings, float *dx, float *dgamma, float *dbeta) {
  const bool relu = settings[2] != 0.f;
  const double count = static_cast<double>(l.count());
  for_channels(l.c, [&](int64_t first, int64_t last) {
    for (int64_t ch = first; ch < last; ++ch) {
      const float mean = save_mean[ch], invstd = save_invstd[ch];
      // the forward's exact scale and shift, so the ReLU mask is the forward's
      const float scale = gamma[ch] * invstd, shift = beta[ch] - mean * scale;
      // g: dy where the ReLU passed (all of dy without a ReLU)
      auto passed = [&](float xv, float dyv) {
        return (!relu || xv * scale + shift > 0.f) ? dyv : 0.f;
      };
      double sum_g = 0, sum_gx = 0;  // sum(g), sum(g * x)
      for (int64_t i = 0; i < l.n; ++i) {
        const float *src = x + l.plane(i, ch), *grad = dy + l.plane(i, ch);
        Lanes s, p;
        int64_t k = 0;
        for (; k + kLanes <= l.hw; k += kLanes)
          for (int j = 0; j < kLanes; ++j) {
            float g = passed(src[k + j], grad[k + j]);
            s.v[j] += g;
            p.v[j] += g * src[k + j];
          }
        for (; k < l.hw; ++k) {
          float g = passed(src[k], grad[k]);
          s.v[0] += g;
          p.v[0] += g * src[k];
        }
        sum_g += s.total();
        sum_gx += p.total();
      }
      // sum(g * xhat) = invstd * (sum(g * x) - mean * sum(g))
      double sum_g_xhat = invstd * (sum_gx - mean * sum_g);
      dbeta[ch] = static_cast<float>(sum_g);
      dgamma[ch] = static_cast<float>(sum_g_xhat);
      // dx = scale * (g - mean(g) - xhat * mean(g * xhat)), xhat = (x - mean) * invstd
      const float g_mean = static_cast<float>(sum_g / count);
      const float xhat_coef = static_cast<float>(sum_g_xhat / count) * invstd;
      for (int64_t i = 0; i < l.n; ++i) {
        const float *src = x + l.plane(i, ch), *grad = dy + l.plane(i, ch);
        float *out = dx + l.plane(i, ch);
        for (int64_t k = 0; k < l.hw; ++k) {
          out[k] = scale * (passed(src[k], grad[k]) - g_mean - (src[k] - mean) * xhat_coef);
        }
      }
    }
  });
}

}  // namespace

// MindSpore aot signature.
// inputs: x, gamma, beta, moving_mean, moving_variance, settings | outputs: y, mean, invstd
extern "C" int batch_norm_relu_forward(int nparam, void **params, int *ndims, int64_t **shapes,
                                       const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 9, {4}, 6)) return 1;
  const AotParams p{params};
  return guarded("batch_norm_relu_forward", [&] {
    Timed timed(Profile::kBatchNorm, 0);
    forward(Layout(shapes[0]), p.in(0), p.in(1), p.in(2), p.out(3), p.out(4), p.in(5), p.out(6),
            p.out(7), p.out(8));
  }, bn_runtime().lock);
}

// inputs: dy, x, gamma, beta, mean, invstd, settings | outputs: dx, dgamma, dbeta
extern "C" int batch_norm_relu_backward(int nparam, void **params, int *ndims, int64_t **shapes,
                                        const char **dtypes, void *stream, void *extra) {
  if (!aot_arguments_are(nparam, ndims, dtypes, 10, {4, 4}, 7)) return 1;
  const AotParams p{params};
  return guarded("batch_norm_relu_backward", [&] {
    Timed timed(Profile::kBatchNorm, 0);
    backward(Layout(shapes[1]), p.in(0), p.in(1), p.in(2), p.in(3), p.in(4), p.in(5), p.in(6),
             p.out(7), p.out(8), p.out(9));
  }, bn_runtime().lock);
}

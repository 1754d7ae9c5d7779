// SGD with momentum and L2 weight decay over a whole parameter group in one kernel (PyTorch's
// convention), for MindSpore's Custom(aot) op on CPU.
//
// Why: written with MindSpore's primitives, each decayed parameter costs four graph nodes and
// kernels (a Load of the parameter, Mul, Add, ApplyMomentum).  InceptionV3 has 284 of them:
// dropping the decay alone took its training graph's compile from 9.3 to 7.4 s (the actor
// linking from 643 to 153 ms) and its step from 2.26 to 2.49 img/s on one core.  Here the whole
// group is one kernel (compile 8.2-8.7 -> 5.7-5.9 s, step 2.32-2.35 -> 2.52 img/s), its work
// split into equal element ranges over the concatenation of all the group's tensors.
//
// Per element, in this order (that of the Mul, Add and ApplyMomentum kernels it replaces):
//   d = grad + param * weight_decay;  buf = buf * momentum + d;
//   param -= lr * buf,  or with Nesterov  param -= lr * (d + momentum * buf).
// inputs: params[n], moments[n], grads[n] (float32, written in place: params, moments),
//         lr (float32, 1 value), hyper (float32: momentum, weight_decay, nesterov 0 or 1)
// output: done (float32, 1 value, set to 1).
#include <algorithm>

#include "onednn_runtime.h"

using namespace mmcls_onednn;

namespace {

struct Tensors {
  int count;          // parameters in the group
  void **data;        // params, moments, grads, then lr and hyper
  int64_t **shapes;
  int *ndims;
  int64_t size(int i) const {
    int64_t n = 1;
    for (int d = 0; d < ndims[i]; ++d) n *= shapes[i][d];
    return n;
  }
  float *param(int i) const { return static_cast<float *>(data[i]); }
  float *moment(int i) const { return static_cast<float *>(data[count + i]); }
  const float *grad(int i) const { return static_cast<const float *>(data[2 * count + i]); }
};

template <bool kNesterov>
void update(float *p, float *buf, const float *g, int64_t n, float lr, float momentum,
            float decay) {
  for (int64_t k = 0; k < n; ++k) {
    float d = g[k] + p[k] * decay;
    float b = buf[k] * momentum + d;
    buf[k] = b;
    p[k] -= kNesterov ? lr * (d + momentum * b) : lr * b;
  }
}

// The optimizer's own pool and lock (see SidePool): it runs after the backward pass, and it
// need not wait for a convolution of the next step.
struct OptimizerKind {};
SidePool &optimizer_runtime() { return side_pool<OptimizerKind>(); }

// Splits the concatenation of all tensors into equal element ranges, one per task.
void step(const Tensors &t, float lr, float momentum, float decay, bool nesterov) {
  std::vector<int64_t> start(t.count + 1, 0);
  for (int i = 0; i < t.count; ++i) start[i + 1] = start[i] + t.size(i);
  const int64_t total = start[t.count];
  Pool &pool = optimizer_runtime().pool;
  // below ~64K elements the fork-join costs more than it saves
  int tasks = static_cast<int>(std::min<int64_t>(pool.get_num_threads(), total / 65536 + 1));
  const auto run = nesterov ? update<true> : update<false>;
  pool.parallel_for(tasks, [&](int task, int n_tasks) {
    const int64_t first = total * task / n_tasks, last = total * (task + 1) / n_tasks;
    int i = static_cast<int>(std::upper_bound(start.begin(), start.end(), first) -
                             start.begin()) - 1;
    for (int64_t at = first; at < last; ++i) {
      const int64_t begin = at - start[i], end = std::min(last, start[i + 1]) - start[i];
      run(t.param(i) + begin, t.moment(i) + begin, t.grad(i) + begin, end - begin, lr,
          momentum, decay);
      at = start[i] + end;
    }
  });
}

}  // namespace

// MindSpore aot signature; see the top of this file for the inputs and outputs.
extern "C" int fused_sgd_step(int nparam, void **params, int *ndims, int64_t **shapes,
                              const char **dtypes, void *stream, void *extra) {
  if (nparam < 6 || (nparam - 3) % 3 != 0 || !all_float32(nparam, dtypes)) return 1;
  const int count = (nparam - 3) / 3;
  Tensors t{count, params, shapes, ndims};
  for (int i = 0; i < count; ++i)
    if (t.size(i) != t.size(count + i) || t.size(i) != t.size(2 * count + i)) return 1;
  return guarded("fused_sgd_step", [&] {
    const float lr = *static_cast<const float *>(params[3 * count]);
    const float *hyper = static_cast<const float *>(params[3 * count + 1]);
    step(t, lr, hyper[0], hyper[1], hyper[2] != 0.f);
    *static_cast<float *>(params[nparam - 1]) = 1.f;
  }, optimizer_runtime().lock);
}

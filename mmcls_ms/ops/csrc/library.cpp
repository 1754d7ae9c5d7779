// The library's own entry points, for kernel_library.py: the ABI check, the thread count,
// and the profile report.  The kernels themselves are in conv2d.cpp, pool2d.cpp,
// batch_norm_relu.cpp and fused_sgd.cpp.
#include "onednn_runtime.h"

using namespace mmcls_onednn;

// 0 when MindSpore's oneDNN is one these kernels were written for.
extern "C" int kernels_abi_check(void) {
  const dnnl_version_t *version = dnnl_version();
  if (version->major != 3) return 1;
  if (version->cpu_runtime != DNNL_RUNTIME_THREADPOOL) return 2;
  return 0;
}

// The number of threads the kernels may use in all; 0 when set, 1 when too late (a kernel
// already ran, its pools exist).
extern "C" int kernels_set_num_threads(int threads) {
  if (g_runtime_started.load()) return 1;
  g_requested_threads = threads;
  return 0;
}

// The threads of the main pool (starts the runtime).
extern "C" int kernels_num_threads(void) { return runtime().pool->get_num_threads(); }

// The most helper threads that were ever at work at once, in all pools together.
extern "C" int kernels_peak_helpers(void) { return g_helpers.peak(); }

// MMCLS_MS_ONEDNN_PROFILE=1: print the totals so far (kernel_library.py calls it at exit).
extern "C" void kernels_profile_report(void) { g_profile.report(); }

"""The one timing method of every benchmark (pure Python: no framework import).

One first step (graph compile, warm caches), ``warmup`` untimed steps, then
``steps`` timed steps; the figure is the median step.  ``run()`` must return
only when the work is finished: a MindSpore step ends with ``.asnumpy()`` (on
CPU ``synchronize()`` is a no-op), PyTorch runs synchronously on CPU.

``tools/analysis_tools/benchmark.py`` and every script under ``benchmarks/``
time with :func:`time_steps`.  The peer runners (``benchmarks/peers``) load
this file by its path, so that their process does not import ``mmcls_ms``.

Example:
    >>> result = time_steps(lambda: sum(range(1000)), batch=4, warmup=1, steps=3)
    >>> sorted(result)[:4]
    ['batch', 'compile_est_s', 'cores_busy', 'cpu_s_per_step']
    >>> len(result['step_s'])
    3
"""
import os
import resource
import statistics
import time
from typing import Callable, Dict, Optional, Sequence


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB).

    Example:
        >>> peak_rss_mib() > 0
        True
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linearly interpolated percentile (numpy's default), without numpy.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.5
    """
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def time_steps(run: Callable[[], object], batch: int, warmup: int = 2, steps: int = 5,
               on_step: Optional[Callable[[str], None]] = None) -> Dict[str, object]:
    """Time ``run`` by the method above.

    Returns the batch, the first step, each timed step, the median step, images
    per second (median, slowest and fastest step), latency percentiles, the
    compile estimate (first step minus the median), CPU seconds per step,
    cores busy, the peak RSS, and ``output``: what the last call returned.
    ``on_step('first' | 'warmup' | 'timed')`` follows the progress.
    """
    if batch < 1 or steps < 1 or warmup < 0:
        raise ValueError(f'time_steps: batch and steps must be >= 1 and warmup >= 0, got '
                         f'batch={batch}, steps={steps}, warmup={warmup}')
    report = on_step or (lambda stage: None)
    start = time.perf_counter()
    output = run()
    first = time.perf_counter() - start
    report('first')
    for _ in range(warmup):
        run()
        report('warmup')
    times = []
    cpu0 = os.times()
    for _ in range(steps):
        start = time.perf_counter()
        output = run()
        times.append(time.perf_counter() - start)
        report('timed')
    cpu1 = os.times()
    median = statistics.median(times)
    cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return dict(
        batch=batch, first_step_s=round(first, 3), step_s=[round(t, 4) for t in times],
        median_step_s=round(median, 4), images_per_s=round(batch / median, 3),
        images_per_s_min=round(batch / max(times), 3),
        images_per_s_max=round(batch / min(times), 3),
        latency_ms={f'p{q}': round(1000 * percentile(times, q), 1) for q in (50, 90, 99)},
        compile_est_s=round(first - median, 3), peak_rss_mib=round(peak_rss_mib(), 1),
        cores_busy=round(cpu_s / sum(times), 2),
        # the work done, less sensitive to other load on the machine than wall time
        cpu_s_per_step=round(cpu_s / len(times), 3),
        output=output)

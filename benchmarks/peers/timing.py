"""The timing method shared by every runner (pure Python, no framework).

One first step (compile / warm caches), ``warmup`` untimed steps, ``steps``
timed steps; the figure is the median.  ``run()`` must return only when the
work is finished (MindSpore: end with ``.asnumpy()``).
"""
import os
import resource
import statistics
import time


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_steps(run, batch, warmup=2, steps=5) -> dict:
    """Time ``run`` and return images/s, step times, compile estimate, peak RSS."""
    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    for _ in range(warmup):
        run()
    times = []
    cpu0 = os.times()
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    cpu1 = os.times()
    median = statistics.median(times)
    return dict(batch=batch, first_step_s=round(first, 3), step_s=[round(t, 4) for t in times],
                median_step_s=round(median, 4), images_per_s=round(batch / median, 3),
                compile_est_s=round(first - median, 3), peak_rss_mib=round(peak_rss_mib(), 1),
                cores_busy=round(((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) /
                                 sum(times), 2))

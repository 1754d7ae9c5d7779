"""benchmarks/compare_peers.py: its plan and skip reporting (the timed runs are not tested)."""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, 'benchmarks'))

import compare_peers  # noqa: E402


def test_skipped_peers_are_named():
    args = compare_peers.parse_args(['--no-mindcv', '--no-torch'])
    runs, skipped = compare_peers.plan(args)
    assert {name for _, name, _ in runs} == {'mmcls_ms'}
    assert len(runs) == 4
    assert any(s.startswith('mindcv graph: --no-mindcv') for s in skipped)
    assert any(s.startswith('torch eager') for s in skipped)


def test_training_runs_match_the_peers_loss():
    args = compare_peers.parse_args(['--no-mindcv', '--no-torch', '--workloads',
                                     'inception_v3:train', '--mmcls-variant', 'fast=--fast'])
    runs, _ = compare_peers.plan(args)
    assert len(runs) == 1  # the inference-only variant is not run for training
    cmd = runs[0][2]
    assert 'model.backbone.aux_logits=True' in cmd and 'model.head.aux_loss_weight=0.4' in cmd


def test_find_python_reports_missing_modules():
    assert compare_peers.find_python(sys.executable, 'no_such_module_here') is None
    assert compare_peers.find_python(sys.executable, 'json') == sys.executable


def test_summary_and_ratios():
    records = [dict(workload='vgg16:infer', name='mmcls_ms', images_per_s=6.0, compile_est_s=1,
                    peak_rss_mib=10, forward_gflop_per_image=30.9),
               dict(workload='vgg16:infer', name='torch eager', images_per_s=5.0,
                    compile_est_s=0, peak_rss_mib=10),
               dict(workload='vgg16:infer', name='mindcv graph', error='exit 1: boom')]
    summary = compare_peers.summarise(records)
    assert summary[('vgg16:infer', 'mmcls_ms')]['ips'] == [6.0]
    assert summary[('vgg16:infer', 'mindcv graph')]['errors'] == ['exit 1: boom']
    assert compare_peers.gflop_per_image(records) == {'vgg16': 30.9}


def test_peer_python_is_the_fallback_for_both_peers(tmp_path):
    missing = str(tmp_path / 'no_python')
    assert compare_peers.find_python(None, 'json', fallback=missing) == sys.executable
    assert compare_peers.find_python(None, 'json', fallback=sys.executable) == sys.executable
    # an interpreter named explicitly is the only one tried
    assert compare_peers.find_python(missing, 'json', fallback=sys.executable) is None
    args = compare_peers.parse_args(['--mindcv-python', missing, '--no-torch'])
    _, skipped = compare_peers.plan(args)
    assert any(s.startswith('mindcv graph: no Python') for s in skipped)


def test_peer_runners_time_with_the_shared_method_without_importing_mmcls_ms():
    import json
    import subprocess
    code = ('import sys; sys.path.insert(0, "benchmarks/peers"); '
            'from common import parse_args, time_and_report; '
            '_, args = parse_args(("eager",)); '
            'time_and_report(lambda: sum(range(100)), args, impl="fake"); '
            'assert not any(m == "mmcls_ms" or m.startswith("mmcls_ms.") for m in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code, '--model', 'vgg16', '--task', 'train',
                          '--warmup', '0', '--steps', '3'], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout.split('RESULT ', 1)[1])
    assert record['impl'] == 'fake' and record['batch'] == 8 and len(record['step_s']) == 3
    assert record['images_per_s'] > 0 and 'output' not in record


def test_goals_are_judged_from_the_runs():
    """Each goal row says met / NOT met from the medians: a speed ratio against a peer, the
    share of the matmul peak for mmcls_ms, and compile time and memory against MindCV."""
    def rec(workload, name, ips, compile_s=1.0, rss=100.0):
        return dict(workload=workload, name=name, images_per_s=ips, compile_est_s=compile_s,
                    peak_rss_mib=rss, forward_gflop_per_image=10.0)
    records = [rec('vgg16:infer', 'mmcls_ms', 7.0), rec('vgg16:infer', 'torch eager', 5.0),
               rec('vgg16:infer', 'torch.compile', 6.9),
               rec('vgg16:train', 'mmcls_ms', 2.0, compile_s=5.0, rss=90.0),
               rec('vgg16:train', 'mindcv graph', 1.5, compile_s=4.0, rss=95.0)]
    summary = compare_peers.summarise(records)
    goal = compare_peers.goal_of
    assert goal(summary, 'vgg16:infer', 'torch eager', 7 / 5, 'mmcls_ms', None).startswith(
        '>=1.40x met')
    assert 'NOT met' in goal(summary, 'vgg16:infer', 'torch.compile', 7 / 6.9, 'mmcls_ms', None)
    assert goal(summary, 'vgg16:infer', 'mmcls_ms', None, 'mmcls_ms', 0.86) == \
        '>=85% of peak met'
    assert goal(summary, 'vgg16:train', 'mmcls_ms', None, 'mmcls_ms', 0.5) == \
        '>=80% of peak NOT met'
    assert goal(summary, 'vgg16:train', 'mindcv graph', 2 / 1.5, 'mmcls_ms', None) == \
        'compile NOT met, RSS met (mmcls_ms <= this)'


def test_report_prints_both_matmul_peaks():
    from rich.console import Console
    console = Console(record=True, width=200)
    records = [dict(workload='vgg16:infer', name='mmcls_ms', images_per_s=6.0, compile_est_s=1,
                    peak_rss_mib=10, forward_gflop_per_image=15.5)]
    compare_peers.print_report(records, [], [120.0, 124.0], console)
    text = console.export_text()
    assert '120 GFLOP/s before the runs, 124 after' in text
    assert '75%' in text  # 6 img/s x 15.5 GFLOP = 93 GFLOP/s of the larger peak, 124

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

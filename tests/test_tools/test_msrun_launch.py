"""tools/misc/msrun_launch.py, the launcher behind dist_train.sh and dist_test.sh:
its command line and what it imports (runs with msrun are in test_dist.py)."""
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('args, usage, error', [
    (['tools/dist_test.sh', 'a.py'],
     'usage: bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]',
     'tools/dist_test.sh: error: the following arguments are required: CHECKPOINT, NPROC'),
    (['tools/dist_train.sh', 'a.py', '0', '--work-dir', 'w'],
     'usage: bash tools/dist_train.sh CONFIG NPROC [train.py args...]',
     'tools/dist_train.sh: error: argument NPROC: must be >= 1, got 0'),
    (['tools/dist_train.sh'],
     'usage: bash tools/dist_train.sh CONFIG NPROC [train.py args...]',
     'tools/dist_train.sh: error: the following arguments are required: CONFIG, NPROC'),
], ids=['test-without-checkpoint', 'train-nproc-0', 'train-without-arguments'])
def test_dist_scripts_name_their_own_usage(args, usage, error):
    out = subprocess.run(['bash'] + args, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.splitlines()[0] == usage
    assert out.stderr.splitlines()[1].startswith(error)


def test_arguments_after_nproc_go_to_the_tool_unchanged():
    sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
    try:
        import msrun_launch
    finally:
        sys.path.pop(0)
    args = msrun_launch.parse_args(['test', 'c.py', 'e.ckpt', '2', '--out', 'o.pkl',
                                    '--cfg-options', 'a=1'])
    assert (args.tool, args.config, args.checkpoint, args.nproc) == ('test', 'c.py', 'e.ckpt', 2)
    assert args.rest == ['--out', 'o.pkl', '--cfg-options', 'a=1']


def test_the_launcher_claims_its_log_folder_without_importing_mmcls_ms(tmp_path):
    """It starts before MindSpore and must not make mmcls_ms's oneDNN decision for the
    workers (they would take its ONEDNN_MAX_CPU_ISA for the user's)."""
    code = ('import sys; sys.path.insert(0, "tools/misc"); import msrun_launch as m; '
            'claim = m.load_claim_folder(); print(claim(sys.argv[1])); print(claim(sys.argv[1])); '
            'print(sorted(n for n in sys.modules if n.split(".")[0] == "mmcls_ms"))')
    out = subprocess.run([sys.executable, '-c', code, str(tmp_path / 'logs')], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    first, second, imported = out.stdout.splitlines()
    assert (first, second) == (str(tmp_path / 'logs'), str(tmp_path / 'logs_1'))
    assert imported == '[]'

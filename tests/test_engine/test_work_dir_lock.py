"""One training run per work_dir: a second run refuses while the first is
alive, and a killed run's lock is taken over."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest

from mmcls_ms.engine.runner.work_dir_lock import (WorkDirBusyError, acquire_work_dir,
                                                  release_work_dir)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# another process holding the lock (the module alone: no MindSpore import to wait for)
HOLD = ('import importlib.util as u, signal, sys; s = u.spec_from_file_location("lock", '
        '"mmcls_ms/engine/runner/work_dir_lock.py"); m = u.module_from_spec(s); '
        's.loader.exec_module(m); m.acquire_work_dir(sys.argv[1]); print("held", flush=True); '
        'signal.pause()')


def test_second_train_py_refuses_while_the_first_is_alive(tmp_path):
    work = str(tmp_path / 'work')
    holder = subprocess.Popen([sys.executable, '-c', HOLD, work], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        cfg = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')
        out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', work],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
        assert out.returncode == 1
        errors = [line for line in out.stderr.splitlines() if line.startswith('error:')]
        assert len(errors) == 1 and 'Traceback' not in out.stderr, out.stderr[-2000:]
        assert f'pid {holder.pid}' in errors[0] and 'another --work-dir' in errors[0]
        assert 'is in use by another training run' in errors[0]
        # nothing of the running job was touched
        assert not [n for n in os.listdir(work) if n.endswith('.ckpt')]
    finally:
        holder.kill()
        holder.wait()

    # the holder was killed: its lock is taken over (what --resume after a crash needs)
    note = acquire_work_dir(work)
    try:
        assert note and f'pid {holder.pid}' in note and 'ended without releasing' in note
        # within one process a second run is refused too
        with pytest.raises(WorkDirBusyError, match='this process'):
            acquire_work_dir(work)
    finally:
        release_work_dir(work)
    # a cleanly released lock is taken without a note, and refuses another process
    assert acquire_work_dir(work) is None
    try:
        other = subprocess.run([sys.executable, '-c', HOLD.replace('signal.pause()', ''), work],
                               cwd=REPO, capture_output=True, text=True, timeout=60)
        assert other.returncode != 0 and f'pid {os.getpid()}' in other.stderr
    finally:
        release_work_dir(work)


def test_killed_holder_releases_at_once(tmp_path):
    """The kernel drops the lock of a killed process: no stale lock to clean up."""
    work = str(tmp_path / 'w')
    holder = subprocess.Popen([sys.executable, '-c', HOLD, work], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == 'held'
    with pytest.raises(WorkDirBusyError, match=f'pid {holder.pid}'):
        acquire_work_dir(work)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert 'ended without releasing' in acquire_work_dir(work)
    release_work_dir(work)

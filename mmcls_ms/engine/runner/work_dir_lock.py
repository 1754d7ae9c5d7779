"""One training run per work_dir: a lock file held while the run is alive.

Two runs on one ``--work-dir`` would overwrite each other's checkpoints and
prune each other's files (``max_keep_ckpts``).  A training run therefore holds
``<work_dir>/.train.lock`` (an ``fcntl`` record lock, which the kernel releases
when the process ends, however it ends) and a second run refuses to start
while the first is alive.  The lock of a killed run is taken over, so
``--resume`` after a crash just works.  The file names the holder (pid, host,
start time, command) for the refusal message.
"""
import fcntl
import os
import os.path as osp
import socket
import sys
import time
from typing import Dict, Optional

LOCK_FILE = '.train.lock'

# POSIX record locks belong to the process: a second lock in the same process
# would succeed, and closing any descriptor of the file would drop the lock
_HELD: Dict[str, int] = {}


class WorkDirBusyError(ValueError):
    """Another training run holds the work_dir (a user error: one line at the
    command line)."""


def _describe(text: str) -> str:
    fields = dict(line.split('=', 1) for line in text.splitlines() if '=' in line)
    if not fields.get('pid'):
        return 'another process'
    return (f"pid {fields['pid']} on {fields.get('host', '?')}, started "
            f"{fields.get('started', '?')}: {fields.get('command', '?')}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_work_dir(work_dir: str) -> Optional[str]:
    """Lock ``work_dir`` for this process's training run.

    Returns a note when the lock of a run that ended without releasing it (a
    killed run) was taken over, else ``None``.  Raises
    :class:`WorkDirBusyError` while another live run holds it.

    Example:
        >>> acquire_work_dir('work_dirs/run1')  # doctest: +SKIP
        >>> release_work_dir('work_dirs/run1')  # doctest: +SKIP
    """
    work_dir = osp.abspath(work_dir)
    path = osp.join(work_dir, LOCK_FILE)
    if work_dir in _HELD:
        raise WorkDirBusyError(_busy_message(work_dir, f'pid {os.getpid()} (this process)'))
    os.makedirs(work_dir, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _describe(os.pread(fd, 4096, 0).decode('utf-8', 'replace'))
        os.close(fd)
        raise WorkDirBusyError(_busy_message(work_dir, holder)) from None
    previous = os.pread(fd, 4096, 0).decode('utf-8', 'replace')
    _HELD[work_dir] = fd
    info = (f'pid={os.getpid()}\nhost={socket.gethostname()}\n'
            f"started={time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            f"command={' '.join([osp.basename(sys.executable)] + sys.argv)}\n")
    os.ftruncate(fd, 0)
    os.pwrite(fd, info.encode('utf-8'), 0)
    fields = dict(line.split('=', 1) for line in previous.splitlines() if '=' in line)
    old_pid = fields.get('pid', '')
    if old_pid.isdigit() and int(old_pid) != os.getpid() and not _pid_alive(int(old_pid)):
        return (f'Took over the work_dir lock of an earlier run that ended without '
                f'releasing it ({_describe(previous)}).')
    return None


def release_work_dir(work_dir: str) -> None:
    """Release the lock taken by :func:`acquire_work_dir` (no-op if not held)."""
    work_dir = osp.abspath(work_dir)
    fd = _HELD.pop(work_dir, None)
    if fd is None:
        return
    try:
        os.ftruncate(fd, 0)  # empty: the run ended cleanly
    finally:
        os.close(fd)  # closing drops the lock


def _busy_message(work_dir: str, holder: str) -> str:
    return (f'work_dir {work_dir} is in use by another training run ({holder}). Two runs in '
            'one work_dir overwrite and prune each other\'s checkpoints: wait for it to end '
            '(or stop it), or give this run another --work-dir.')

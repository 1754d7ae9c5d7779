"""Capture what native libraries print on the process's standard error.

C and C++ libraries (libjpeg, libpng, MindSpore's plugin loader) write to
file descriptor 2 directly, below Python's ``sys.stderr``.  The capture
redirects fd 2 of the whole process, so use it from one thread at a time.
"""
import contextlib
import os
import tempfile
from typing import Iterator, List

# one temporary file per process (by process id: a forked child must not
# share its parent's file position)
_capture = {}


@contextlib.contextmanager
def native_stderr() -> Iterator[List[str]]:
    """Redirect fd 2 while the block runs; the list it yields receives the text.

    Example:
        >>> with native_stderr() as printed:
        ...     _ = os.write(2, b'Corrupt JPEG data\\n')
        >>> printed
        ['Corrupt JPEG data\\n']
    """
    if os.getpid() not in _capture:
        _capture.clear()
        _capture[os.getpid()] = tempfile.TemporaryFile()
    fd = _capture[os.getpid()].fileno()
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    printed: List[str] = []
    saved = os.dup(2)
    os.dup2(fd, 2)
    try:
        yield printed
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.lseek(fd, 0, os.SEEK_SET)
        printed.append(os.read(fd, 1 << 16).decode(errors='replace'))

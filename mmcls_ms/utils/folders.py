"""Folders that belong to one run: ``claim_folder``.

Standard library only, so that ``tools/misc/msrun_launch.py`` can load this file
without importing ``mmcls_ms`` (whose import makes the oneDNN decision).

Example:
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> [os.path.basename(claim_folder(os.path.join(root, 'run'))) for _ in range(2)]
    ['run', 'run_1']
"""
import os


def claim_folder(path: str) -> str:
    """Create ``path`` for this run alone and return it: when it exists (a run
    started in the same second, another node on a shared file system), the
    first free one of ``path_1``, ``path_2``, ...

    Example:
        >>> claim_folder('work_dirs/run1/20260101_120000')  # doctest: +SKIP
        'work_dirs/run1/20260101_120000'
    """
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    candidate, n = path, 0
    while True:
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            n += 1
            candidate = f'{path}_{n}'

"""Check a tool's output path before the work starts, naming the flag.

A tool that computes for a minute and then cannot write its picture (a
``.xyz`` suffix, a folder where a file should go, a file where a folder should
go) wastes the minute and ends in a library's traceback.  These checks run
when the arguments are read and raise one error the user can act on.

Example:
    >>> check_output_file('plots/curve.png', '--out', writer='matplotlib')
    'plots/curve.png'
"""
import os
import os.path as osp
from typing import Optional


def _refuse_file_ancestor(path: str, flag: str) -> None:
    """A folder of ``path`` that exists as a file can never hold it."""
    parent = osp.dirname(osp.abspath(path))
    while parent and not osp.exists(parent):
        parent = osp.dirname(parent)
    if parent and not osp.isdir(parent):
        raise NotADirectoryError(f'{flag} {path}: {parent} is a file, not a folder. '
                                 'Give a path in a folder.')


def _writable_suffixes(writer: str) -> Optional[tuple]:
    """The suffixes ``writer`` writes, or None when it decides per file (OpenCV)."""
    if writer == 'matplotlib':
        from matplotlib.figure import Figure
        return tuple(f'.{ext}' for ext in Figure().canvas.get_supported_filetypes())
    return None


def check_output_file(path: str, flag: str, writer: Optional[str] = None) -> str:
    """Refuse an output file path that cannot be written; return it unchanged.

    Args:
        path: the file the tool will write (its folders are created later).
        flag: the command-line flag that gave it, for the message.
        writer: ``'matplotlib'`` (a figure) or ``'opencv'`` (an image): the
            suffix must be one the writer knows.

    Example:
        >>> check_output_file('cam.xyz', '--save-path', writer='opencv')  # doctest: +SKIP
        ValueError: --save-path cam.xyz: OpenCV cannot write '.xyz' files; use .png or .jpg.
    """
    if osp.isdir(path):
        raise IsADirectoryError(f'{flag} {path} is a folder; give the path of a file '
                                '(in that folder or elsewhere).')
    _refuse_file_ancestor(path, flag)
    suffix = osp.splitext(path)[1].lower()
    if writer == 'opencv':
        import cv2
        if not cv2.haveImageWriter(path):
            raise ValueError(f"{flag} {path}: OpenCV cannot write {suffix or 'suffix-less'!r} "
                             'files; use .png or .jpg.')
    elif writer is not None:
        suffixes = _writable_suffixes(writer)
        if suffix not in suffixes:
            raise ValueError(f"{flag} {path}: {writer} cannot write {suffix or 'suffix-less'!r} "
                             f"files; use one of {', '.join(sorted(suffixes))}.")
    return path


def check_output_dir(path: str, flag: str) -> str:
    """Refuse an output folder that is a file (or lies under one); return it unchanged.

    Example:
        >>> check_output_dir('work_dirs/vis', '--show-dir')
        'work_dirs/vis'
    """
    if osp.exists(path) and not osp.isdir(path):
        raise NotADirectoryError(f'{flag} {path} is a file, not a folder. Give a folder '
                                 '(it is created if missing).')
    _refuse_file_ancestor(path, flag)
    return path

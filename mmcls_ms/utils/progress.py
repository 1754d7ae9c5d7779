"""Rich progress bars that share the logger's console.

Example:
    >>> from mmcls_ms.utils.progress import track
    >>> total = sum(track(range(3), description='Counting'))
"""
from typing import Iterable, Optional

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from .logging import console


def make_progress(transient: bool = False) -> Progress:
    """A progress display with count, elapsed time and ETA columns."""
    return Progress(
        TextColumn('[bold]{task.description}'), BarColumn(), MofNCompleteColumn(),
        TextColumn('{task.fields[status]}'), TimeElapsedColumn(), TextColumn('eta'),
        TimeRemainingColumn(), console=console, transient=transient)


def track(iterable: Iterable, description: str = 'Working', total: Optional[int] = None,
          disable: bool = False):
    """Iterate with a progress bar (like ``rich.progress.track``)."""
    if total is None and hasattr(iterable, '__len__'):
        total = len(iterable)
    if disable:
        yield from iterable
        return
    with make_progress() as progress:
        task = progress.add_task(description, total=total, status='')
        for item in iterable:
            yield item
            progress.advance(task)

"""The mmcls_ms logger: readable lines on the console and in a log file.

Console lines go through one ``rich`` console, the same one that draws the
progress bars, so a log line never tears a bar.  Ranks other than 0 only show
warnings and errors.

Example:
    >>> from mmcls_ms.utils.logging import get_logger
    >>> logger = get_logger(log_file='work_dirs/run.log')   # doctest: +SKIP
    >>> logger.info('Epoch(train) [1][10/50]  lr: 1.0000e-02  loss: 2.3021')
"""
import logging
import os
from typing import Optional

from rich.console import Console

LOGGER_NAME = 'mmcls_ms'
_FORMAT = '%(asctime)s - mmcls_ms - %(levelname)s - %(message)s'
_DATEFMT = '%m/%d %H:%M:%S'

# One console for log lines and progress bars (stdout, like mmengine's logs).
# No fixed `file`: the console follows sys.stdout even when it is replaced
# later (pytest's capture, redirect_stdout).
console = Console(highlight=False, soft_wrap=True)


class _ConsoleHandler(logging.Handler):

    def emit(self, record):
        try:
            console.print(self.format(record), markup=False, highlight=False)
        except Exception:  # a broken pipe must not kill training
            self.handleError(record)


def get_logger(log_file: Optional[str] = None, log_level: str = 'INFO',
               rank: int = 0) -> logging.Logger:
    """Configure and return the ``mmcls_ms`` logger.

    Calling it again replaces the file handler (a new run, a new log file).
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.propagate = False
    level = logging.getLevelName(str(log_level).upper()) if rank == 0 else logging.WARNING
    if not isinstance(level, int):
        raise ValueError(f'log_level must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}')
    logger.setLevel(level)
    formatter = logging.Formatter(_FORMAT, _DATEFMT)
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler) or not hasattr(handler, '_mmcls_ms'):
            logger.removeHandler(handler)
            handler.close()
    if not any(getattr(h, '_mmcls_ms', False) for h in logger.handlers):
        handler = _ConsoleHandler()
        handler._mmcls_ms = True
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    if log_file and rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        file_handler = logging.FileHandler(log_file, mode='a', encoding='utf-8')
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    return logger


def print_log(msg: str, level: int = logging.INFO) -> None:
    """Log through the mmcls_ms logger (configured on first use)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        get_logger()
    logger.log(level, msg)

"""Run a command-line tool: expected errors in one line, bugs with their traceback.

An *expected* error is one the user can fix (a missing file, a bad config key,
a malformed override, a corrupt image, an unsafe checkpoint, a NaN loss).  It
ends with ``error: <message>`` and exit status 1, without a stack trace.  The
set is explicit (:func:`is_expected_error`):

- the project's error classes listed in :data:`EXPECTED_ERRORS`;
- ``FileNotFoundError`` / ``PermissionError`` / ``IsADirectoryError`` / ``FileExistsError`` (they
  name the path);
- a built-in error (``ValueError``, ``KeyError``...) raised by a ``raise``
  statement of ``mmcls_ms``, ``tools/`` or the running script: those carry a
  message written for the user;
- a ``TypeError`` for a wrong argument name in a config.

Anything else (a ``KeyError`` from a failed lookup, a ``TypeError`` inside a
library) is a bug: its traceback is printed, followed by one line saying so.
Set ``MMCLS_MS_DEBUG=1`` to see the traceback of expected errors too.

MindSpore 2.10 prints ``Cell.__del__`` warnings while the interpreter shuts
down after a compiled run; they are harmless, so the tools flush their output
and exit with ``os._exit`` to skip that teardown.

Example:
    >>> def main(argv):
    ...     raise FileNotFoundError('Config file not found: a.py')
    >>> run_cli(main)   # prints "error: Config file not found: a.py", exits 1  # doctest: +SKIP
"""
import os
import sys
import traceback
from typing import Callable, Optional, Sequence

# The project's error classes whose message tells the user what to do, by
# dotted name: this module sits below the packages that define them.
EXPECTED_ERRORS = (
    'mmcls_ms.utils.config.ConfigFileError',
    'mmcls_ms.utils.config.ConfigOverrideError',
    'mmcls_ms.utils.config.ConfigValueError',
    'mmcls_ms.engine.runner.runner.ConfigError',
    'mmcls_ms.weights.checkpoint.CheckpointError',
    'mmcls_ms.weights.pth_reader.UnsafePickleError',
    'mmcls_ms.weights.pth_reader.PthFormatError',
    'mmcls_ms.weights.download.DownloadError',
    'mmcls_ms.datasets.transforms.loading.ImageReadError',
    'mmcls_ms.ops.kernel_library.KernelLibraryUnavailable',
    'mmcls_ms.utils.device.DeviceUnavailableError',
    'mmcls_ms.models.utils.weight_init.InitConfigError',
    'mmcls_ms.engine.runner.work_dir_lock.WorkDirBusyError',
)
# errors about a path the user gave: the message names the path
PATH_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
               FileExistsError)
# built-in errors that are expected when a project `raise` statement raised them
MESSAGE_ERRORS = (ValueError, KeyError, TypeError, FloatingPointError, OSError, RuntimeError,
                  NotImplementedError, ImportError)
DEBUG_ENV = 'MMCLS_MS_DEBUG'
_PROJECT_DIRS = tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                 name) + os.sep for name in ('mmcls_ms', 'tools'))


def _checked_number(text: str, convert: Callable, minimum: float, strict: bool, what: str):
    import argparse
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be {what}, got {text!r}') from None
    # `not >=` also refuses NaN; an infinite size or factor is no number to use either
    if not value >= minimum or (strict and value == minimum) or value == float('inf'):
        raise argparse.ArgumentTypeError(f'must be {what}, got {text}')
    return value


def positive_int(text: str) -> int:
    """An argparse ``type``: an int >= 1, else one usage error naming the flag.

    Example:
        >>> parser.add_argument('--topk', type=positive_int, default=5)  # doctest: +SKIP
        >>> positive_int('3')
        3
    """
    return _checked_number(text, int, 1, False, 'a positive int')


def non_negative_int(text: str) -> int:
    """An argparse ``type``: an int >= 0.

    Example:
        >>> non_negative_int('0')
        0
    """
    return _checked_number(text, int, 0, False, 'an int >= 0')


def positive_float(text: str) -> float:
    """An argparse ``type``: a number > 0.

    Example:
        >>> positive_float('1.5')
        1.5
    """
    return _checked_number(text, float, 0.0, True, 'a number > 0')


def non_negative_float(text: str) -> float:
    """An argparse ``type``: a number >= 0.

    Example:
        >>> non_negative_float('0')
        0.0
    """
    return _checked_number(text, float, 0.0, False, 'a number >= 0')


def _type_names(err: BaseException) -> set:
    return {f'{cls.__module__}.{cls.__qualname__}' for cls in type(err).__mro__}


def _raised_by_project_statement(err: BaseException) -> bool:
    """True when the innermost frame is a ``raise`` line of mmcls_ms, tools/ or
    the running script."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    last = frames[-1]
    # the running tool counts too, wherever mmcls_ms is installed from
    main_file = getattr(sys.modules.get('__main__'), '__file__', None)
    dirs = _PROJECT_DIRS + ((os.path.dirname(os.path.abspath(main_file)) + os.sep, )
                            if main_file else ())
    return (os.path.abspath(last.filename).startswith(dirs)
            and (last.line or '').lstrip().startswith('raise'))


def _is_config_type_error(err: TypeError) -> bool:
    """A wrong or missing argument in a config (``dict(type='VGG', deph=16)``)."""
    text = str(err)
    return any(hint in text for hint in ('unexpected keyword argument', 'unexpected arguments',
                                         'required positional argument'))


def is_expected_error(err: BaseException) -> bool:
    """Whether ``err`` is an error the user can fix (reported in one line).

    Example:
        >>> is_expected_error(FileNotFoundError('no such file: a.py'))
        True
    """
    if _type_names(err).intersection(EXPECTED_ERRORS) or isinstance(err, PATH_ERRORS):
        return True
    if isinstance(err, TypeError) and _is_config_type_error(err):
        return True
    return isinstance(err, MESSAGE_ERRORS) and _raised_by_project_statement(err)


def error_message(err: BaseException) -> str:
    """The one-line report of an expected error."""
    message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    if isinstance(err, TypeError) and _is_config_type_error(err):
        message += '\n       Check the arguments of this type in your config.'
    return f'error: {message}'


def run_cli(main: Callable, argv: Optional[Sequence[str]] = None) -> None:
    """Call ``main(argv)``; report errors as the module docstring says and exit
    without teardown noise."""
    code = 0
    try:
        main(argv)
        if 'RANK_ID' in os.environ:
            # under msrun: tools/misc/msrun_launch.py tells finished ranks from dead ones
            # by this line
            print(f"mmcls_ms: rank {os.environ['RANK_ID']} finished", flush=True)
    except KeyboardInterrupt:
        print('Interrupted.', file=sys.stderr)
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
    except Exception as err:  # noqa: B902 (every error is reported, one way or the other)
        code = 1
        if is_expected_error(err):
            if os.environ.get(DEBUG_ENV):
                traceback.print_exc()
            print(error_message(err), file=sys.stderr)
        else:
            traceback.print_exc()
            print(f'mmcls_ms: unexpected {type(err).__name__} (the traceback above): this is '
                  'likely a bug. Please report it with the command and the traceback.',
                  file=sys.stderr)
    kernels = sys.modules.get('mmcls_ms.ops.kernel_library')
    if kernels is not None:  # MMCLS_MS_ONEDNN_PROFILE's report: os._exit skips atexit
        kernels.report_profile()
    sys.stdout.flush()
    sys.stderr.flush()
    if 'RANK_ID' in os.environ and 'mindspore.communication' in sys.modules:
        # under msrun the scheduler must see every worker leave the cluster
        # cleanly, which needs the normal interpreter shutdown
        sys.exit(code)
    os._exit(code)

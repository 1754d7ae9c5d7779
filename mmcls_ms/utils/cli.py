"""Run a command-line tool: clear one-line errors, no noise at exit.

Known user errors (a missing file, a bad config key, a malformed override, a
NaN loss, a wrong checkpoint) end with ``error: <message>`` and exit status 1,
not a stack trace.  Set ``MMCLS_MS_DEBUG=1`` to see the traceback.

MindSpore 2.10 prints ``Cell.__del__`` warnings while the interpreter shuts
down after a compiled run; they are harmless, so the tools flush their output
and exit with ``os._exit`` to skip that teardown.
"""
import os
import sys
import traceback

USER_ERRORS = (FileNotFoundError, KeyError, ValueError, FloatingPointError)


def _is_config_type_error(err: TypeError) -> bool:
    """A wrong or missing argument in a config (``dict(type='VGG', deph=16)``)."""
    text = str(err)
    return any(hint in text for hint in ('unexpected keyword argument', 'unexpected arguments',
                                         'required positional argument'))


def run_cli(main, argv=None) -> None:
    """Call ``main(argv)``; report errors cleanly and exit without teardown noise."""
    code = 0
    try:
        main(argv)
        if os.environ.get('MMCLS_MS_DIST_MARKER') and 'RANK_ID' in os.environ:
            # tools/misc/msrun_launch.py tells finished ranks from dead ones by this line
            print(f"mmcls_ms: rank {os.environ['RANK_ID']} finished", flush=True)
    except KeyboardInterrupt:
        print('Interrupted.', file=sys.stderr)
        code = 130
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
    except TypeError as err:
        if not _is_config_type_error(err):
            raise
        if os.environ.get('MMCLS_MS_DEBUG'):
            traceback.print_exc()
        print(f'error: {err}\n       Check the arguments of this type in your config.',
              file=sys.stderr)
        code = 1
    except USER_ERRORS as err:
        if os.environ.get('MMCLS_MS_DEBUG'):
            traceback.print_exc()
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f'error: {message}', file=sys.stderr)
        code = 1
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

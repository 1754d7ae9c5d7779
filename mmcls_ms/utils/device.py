"""Choose the MindSpore device, and refuse one that this machine does not have.

MindSpore 2.10's wheel carries the GPU and Ascend plugins; choosing a device
whose plugin cannot load (no CUDA runtime, no CANN) is accepted by
``mindspore.set_device`` and fails later with a C++ stack trace.  Here it
fails at once, in one line naming the setting.
"""
from typing import Optional

from .native_stderr import native_stderr

DEVICE_TARGETS = ('CPU', 'GPU', 'Ascend')
# MindSpore's compile levels: O0 and O1 run kernel by kernel on every device;
# O2 hands the whole graph to CANN's GraphEngine and sinks it to the NPU
JIT_LEVELS = {'O0': DEVICE_TARGETS, 'O1': DEVICE_TARGETS, 'O2': ('Ascend',)}
# what each device needs besides the mindspore wheel
_NEEDS = {'GPU': 'an NVIDIA driver and the CUDA 11 runtime libraries MindSpore 2.10 was built for',
          'Ascend': 'the Ascend driver and a CANN toolkit matching MindSpore 2.10 '
                    '(source its set_env.sh)'}


class DeviceUnavailableError(ValueError):
    """The config asks for a device that this machine does not have."""


def check_device_target(target: str, key: str = 'env_cfg.device_target') -> str:
    """Raise unless ``target`` is a MindSpore device that can run here.

    Example:
        >>> check_device_target('CPU')
        'CPU'
        >>> check_device_target('TPU')
        Traceback (most recent call last):
        ...
        ValueError: env_cfg.device_target='TPU' is not one of 'auto', 'CPU', 'GPU', 'Ascend'.
    """
    if target not in DEVICE_TARGETS:
        raise ValueError(f'{key}={target!r} is not one of '
                         f"{', '.join(repr(t) for t in ('auto',) + DEVICE_TARGETS)}.")
    if target == 'CPU':
        return target
    import mindspore as ms  # only once a device is asked for
    with native_stderr() as printed:  # the plugin loader's own complaints
        available = ms.hal.is_available(target)
    if not available:
        reason = next((line.strip() for line in printed[0].splitlines()
                       if 'failed' in line or 'cannot open' in line), '')
        raise DeviceUnavailableError(
            f"{key}='{target}', but MindSpore finds no usable {target} on this machine"
            + (f' ({reason})' if reason else '') + f'. It needs {_NEEDS[target]}; '
            f"or set {key}='CPU' (or 'auto').")
    return target


def set_device_target(target: str, device_id: Optional[int] = None,
                      key: str = 'env_cfg.device_target') -> None:
    """Check ``target`` (:func:`check_device_target`) and select it in MindSpore.

    Example:
        >>> set_device_target('CPU')  # doctest: +SKIP
    """
    import mindspore as ms  # utils import no MindSpore at module level (see the package)
    check_device_target(target, key)
    if device_id is None:
        ms.set_device(target)
    else:
        ms.set_device(target, device_id)


def check_jit_level(jit_level: str, device_target: str, key: str = 'env_cfg.jit_level') -> None:
    """Raise unless MindSpore can compile at ``jit_level`` on ``device_target``.

    Example:
        >>> check_jit_level('O1', 'CPU')
        >>> check_jit_level('O2', 'CPU')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: env_cfg.jit_level='O2' runs on Ascend only (this run is on CPU); ...
    """
    if jit_level not in JIT_LEVELS:
        raise ValueError(f"{key}={jit_level!r} is not one of {', '.join(map(repr, JIT_LEVELS))}; "
                         'leave it unset to let MindSpore choose.')
    if device_target not in JIT_LEVELS[jit_level]:
        raise ValueError(f"{key}={jit_level!r} runs on {', '.join(JIT_LEVELS[jit_level])} only "
                         f"(this run is on {device_target}); use 'O0' or 'O1', or leave it unset.")

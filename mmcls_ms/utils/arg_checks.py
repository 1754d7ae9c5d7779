"""Checks of constructor arguments, each with one message form.

Each check returns the value it accepts, so that it reads as an assignment:
``self.k = check_int(k, 'TopKCheckpointHook k')``.  ``name`` is how the user
finds the setting: the config key or the component and argument.

Example:
    >>> check_int(3, 'TopKCheckpointHook k')
    3
    >>> check_interval(0.5, '(0, 1)', 'EMAHook momentum')
    0.5
    >>> check_choice('less', (None, 'greater', 'less'), 'TopKCheckpointHook rule')
    'less'
"""
from numbers import Real
from typing import Any, Sequence


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) ``>= minimum``, else a ValueError.

    Example:
        >>> check_int(0, 'num_workers', minimum=0)
        0
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}.')
    return value


def check_interval(value: Any, interval: str, name: str) -> float:
    """``value`` if it lies in ``interval``, written as in mathematics:
    ``'[0, 1]'``, ``'(0, 1]'``, ``'[0, 1)'`` or ``'(0, 1)'``; else a ValueError.

    Example:
        >>> check_interval(1.0, '(0, 1]', 'ConstantLR factor')
        1.0
    """
    low, high = (float(bound) for bound in interval[1:-1].split(','))
    inside = (isinstance(value, Real) and not isinstance(value, bool)
              and (value >= low if interval[0] == '[' else value > low)
              and (value <= high if interval[-1] == ']' else value < high))
    if not inside:
        raise ValueError(f'{name} must be in {interval}, got {value!r}.')
    return value


def check_choice(value: Any, choices: Sequence, name: str) -> Any:
    """``value`` if it is one of ``choices``, else a ValueError listing them.

    Example:
        >>> check_choice('thread', ('thread', 'process'), 'train_dataloader.worker_type')
        'thread'
    """
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got {value!r}.')
    return value

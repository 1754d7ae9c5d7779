"""VisualizationHook refuses what it would not honour: an unknown key (with the
closest known one) and ``show`` where no window can open."""
import pytest

from mmcls_ms.registry import HOOKS


def test_unknown_key_is_refused_with_the_closest_one():
    with pytest.raises(TypeError) as err:
        HOOKS.build(dict(type='VisualizationHook', enable=True, intervl=5))
    message = str(err.value)
    assert message.startswith("default_hooks.visualization: unknown key 'intervl'. "
                              "Did you mean 'interval'?")
    assert 'enable, interval, show, wait_time, out_dir' in message
    hook = HOOKS.build(dict(type='VisualizationHook', enable=True, interval=5, wait_time=1))
    assert (hook.interval, hook.wait_time) == (5, 1)


def test_show_needs_a_display(monkeypatch):
    monkeypatch.delenv('DISPLAY', raising=False)
    monkeypatch.delenv('WAYLAND_DISPLAY', raising=False)
    with pytest.raises(RuntimeError, match='show=True needs a display.*set out_dir'):
        HOOKS.build(dict(type='VisualizationHook', enable=True, show=True))
    # a disabled hook shows nothing, so it needs no display (mmpretrain's default runtime)
    HOOKS.build(dict(type='VisualizationHook', enable=False, show=True))
    with pytest.raises(ValueError, match='wait_time must be >= 0'):
        HOOKS.build(dict(type='VisualizationHook', wait_time=-1))

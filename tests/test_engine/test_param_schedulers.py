"""The lr of every iteration equals mmengine's documented formulas."""
import math

import pytest

from mmcls_ms.engine.schedulers import ParamGroups, build_param_schedulers


def run(cfgs, base_lr, epoch_length, total_iters):
    groups = ParamGroups([base_lr, base_lr * 10])
    schedulers = build_param_schedulers(cfgs, groups, epoch_length)
    lrs = []
    for it in range(total_iters):
        lrs.append(groups.lrs)
        for s in schedulers:
            if not s.by_epoch:
                s.step()
        if (it + 1) % epoch_length == 0:
            for s in schedulers:
                if s.by_epoch:
                    s.step()
    return lrs


def test_warmup_then_cosine_per_iteration():
    base, epoch_len, warm_epochs, epochs = 0.1, 7, 2, 10
    cfgs = [dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warm_epochs,
                 convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=True, begin=warm_epochs,
                 end=epochs, convert_to_iter_based=True)]
    lrs = run(cfgs, base, epoch_len, epochs * epoch_len)
    warm = warm_epochs * epoch_len
    T = (epochs - warm_epochs) * epoch_len
    for it, (lr, lr10) in enumerate(lrs):
        if it < warm:
            # LinearLR: factor from start to 1 over (end - begin - 1) steps
            factor = 0.01 + (1 - 0.01) * it / (warm - 1)
            expected = base * factor
        else:
            t = it - warm
            expected = 1e-4 + (base - 1e-4) * (1 + math.cos(math.pi * t / T)) / 2
        assert lr == pytest.approx(expected, rel=1e-9, abs=1e-12), it
    # a second group with 10x the lr follows its own base value
    assert lrs[0][1] == pytest.approx(1.0 * 0.01)
    assert lrs[-1][1] == pytest.approx(
        1e-4 + (1.0 - 1e-4) * (1 + math.cos(math.pi * (T - 1) / T)) / 2)


def test_multistep_by_epoch():
    base, epoch_len = 0.1, 5
    cfgs = dict(type='MultiStepLR', by_epoch=True, milestones=[3, 6], gamma=0.1)
    lrs = run(cfgs, base, epoch_len, 8 * epoch_len)
    for it, (lr, _) in enumerate(lrs):
        epoch = it // epoch_len
        expected = base * 0.1**sum(epoch >= m for m in (3, 6))
        assert lr == pytest.approx(expected, rel=1e-12), it


def test_multistep_iter_based_and_step_poly_exponential():
    lrs = run(dict(type='MultiStepLR', by_epoch=False, milestones=[4, 9], gamma=0.5), 1.0, 3,
              12)
    assert [round(x[0], 6) for x in lrs] == [1.0] * 4 + [0.5] * 5 + [0.25] * 3
    lrs = run(dict(type='StepLR', by_epoch=False, step_size=2, gamma=0.5), 1.0, 3, 6)
    assert [x[0] for x in lrs] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    lrs = run(dict(type='ExponentialLR', by_epoch=False, gamma=0.9), 1.0, 3, 4)
    assert [x[0] for x in lrs] == pytest.approx([1.0, 0.9, 0.81, 0.729])
    lrs = run(dict(type='PolyLR', by_epoch=False, eta_min=0.0, power=1.0, begin=0, end=5), 1.0,
              3, 5)
    # polynomial decay over end - begin - 1 = 4 steps: 1 - t/4
    assert [x[0] for x in lrs] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0], abs=1e-12)


def test_unknown_scheduler_names_the_registry():
    with pytest.raises(KeyError, match=r"CosineAnnealingLR"):
        build_param_schedulers(dict(type='CosineAnnealingLr'), ParamGroups([0.1]), 10)


@pytest.mark.parametrize('name, lr, warmup, min_lr', [
    ('inception_v3/inception-v3_mindcv-8xb32_in1k.py', 0.045, 5, 0.0),
    ('vgg/vgg16_mindcv-8xb32_in1k.py', 0.01, 2, 1e-4)])
def test_mindcv_recipes_follow_the_published_schedule(name, lr, warmup, min_lr):
    """warm-up to the base lr, then per-step cosine to min_lr at epoch 200."""
    import os.path as osp
    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(repo, 'configs', name))
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.weight_decay == 4e-5
    assert cfg.train_cfg.max_epochs == 200
    epoch_len = 4
    groups = ParamGroups([lr])
    schedulers = build_param_schedulers(cfg.param_scheduler, groups, epoch_len)
    lrs = []
    for _ in range(200 * epoch_len):
        lrs.append(groups.lrs[0])
        for s in schedulers:
            s.step()
    assert lrs[0] < lr * 0.01
    assert lrs[warmup * epoch_len] == pytest.approx(lr)
    assert lrs[-1] == pytest.approx(min_lr, abs=lr * 1e-4)
    # the cosine moves every iteration, not once per epoch
    assert lrs[(warmup + 50) * epoch_len + 1] < lrs[(warmup + 50) * epoch_len]

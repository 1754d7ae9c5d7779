"""The Runner: builds everything from a config, then trains, validates or tests.

It reads mmengine's config schema (``model``, ``*_dataloader``, ``*_evaluator``,
``optim_wrapper``, ``param_scheduler``, ``train_cfg``/``val_cfg``/``test_cfg``,
``default_hooks``/``custom_hooks``, ``randomness``, ``env_cfg``, ``load_from``,
``resume``, ``auto_scale_lr``, ``work_dir``) and drives MindSpore:

- ``env_cfg.mode='graph'`` compiles the whole training step (forward, loss,
  gradients, all-reduce, clipping, update) into one graph; ``'pynative'`` runs
  op by op for debugging.
- A checkpoint holds the network, the optimizer state, the loss scale, EMA
  weights and a JSON meta (epoch, iteration, seed, config, classes).  Because
  the data order and augmentation depend only on ``(seed, epoch)`` and the lr
  on the iteration, resuming restores the run exactly.

Example:
    >>> from mmengine.config import Config
    >>> runner = Runner.from_cfg(Config.fromfile('configs/vgg/vgg11bn_digits.py'))  # doctest: +SKIP
    >>> runner.train()                                                              # doctest: +SKIP
"""
import copy
import math
import os
import os.path as osp
import random
import time

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn

from mmcls_ms.datasets import build_dataloader, check_dataset_cfg
from mmcls_ms.deployment.fast_inference import optimize_for_inference
from mmcls_ms.evaluation import Evaluator
from mmcls_ms.models.utils.dropout import seed_dropout_layers, set_dropout_step
from mmcls_ms.models.utils.weight_init import init_weights
from mmcls_ms.ops.backend import apply_backend, check_float32_only, engine_summary
from mmcls_ms.ops.cpu_backend import has_bfloat16_arithmetic, select_conv_backend
from mmcls_ms.registry import HOOKS, LOOPS, MODELS, OPTIM_WRAPPERS, RUNNERS
from mmcls_ms.utils.device import check_jit_level, set_device_target
from mmcls_ms.utils.folders import claim_folder
from mmcls_ms.utils.logging import get_logger
from mmcls_ms.version import __version__
from mmcls_ms.visualization import build_visualizer
from mmcls_ms.weights.checkpoint import (OPTIMIZER_PREFIX, load_checkpoint, load_state_dict,
                                         read_checkpoint, require_complete, save_checkpoint)
from ..hooks import find_latest_checkpoint
from ..hooks.hook import priority_value
from ..optimizers import build_optimizer, check_optim_wrapper_cfg
from ..schedulers import ParamGroups, build_param_schedulers
from . import dist
from .config_keys import DEFAULT_HOOKS, SCHEMA_KEYS, check_config_keys
from .loops import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop, pad_batch
from .train_step import AccumulatingTrainStep, PredictStep, TrainStep
from .work_dir_lock import WorkDirBusyError, acquire_work_dir, release_work_dir


class ConfigError(KeyError):
    """A config that lacks a key the requested job needs."""

    def __str__(self):
        return self.args[0]


def _need(value, key, job):
    if value is None:
        raise ConfigError(f'The config has no `{key}`, which {job} needs. Add it (see '
                          f'configs/_base_/ for examples) or pass --cfg-options {key}=...')
    return value


@RUNNERS.register_module()
class Runner:
    """Train / validate / test a classifier. Build it with :meth:`from_cfg`."""

    # test()/val() refuse a load_from that leaves model parameters missing or
    # mis-shaped unless this is set (tools/test.py --allow-partial-checkpoint)
    allow_partial_load = False

    def __init__(self, model, work_dir, train_dataloader=None, val_dataloader=None,
                 test_dataloader=None, train_cfg=None, val_cfg=None, test_cfg=None,
                 auto_scale_lr=None, optim_wrapper=None, param_scheduler=None,
                 val_evaluator=None, test_evaluator=None, default_hooks=None, custom_hooks=None,
                 data_preprocessor=None, load_from=None, resume=False, launcher='none',
                 env_cfg=None, log_level='INFO', randomness=None, default_scope='mmcls_ms',
                 visualizer=None, cfg=None):
        self.cfg = cfg
        self.work_dir = osp.abspath(_need(work_dir, 'work_dir', 'the runner'))
        self.env_cfg = dict(env_cfg or {})
        self.rank, self.world_size = dist.init_dist(launcher)
        self.launcher = launcher
        self._setup_mindspore()
        self.seed = self._setup_randomness(dict(randomness or {}))

        self.timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        if self.rank == 0:
            # runs started in the same second get <timestamp>_1, _2, ...
            self.timestamp = osp.basename(claim_folder(osp.join(self.work_dir, self.timestamp)))
        self.log_dir = osp.join(self.work_dir, self.timestamp)
        self.logger = get_logger(osp.join(self.log_dir, f'{self.timestamp}.log'), log_level,
                                 self.rank)
        self._log_environment()
        for message in check_config_keys(cfg) if cfg is not None else []:
            self.logger.warning(message)
        # backends only on rank 0: the other ranks log nothing
        self.visualizer = build_visualizer(
            visualizer, osp.join(self.log_dir, 'vis_data') if self.rank == 0 else None,
            vis_backends=cfg.get('vis_backends') if cfg is not None else None)

        self._dataloader_cfgs = dict(train=train_dataloader, val=val_dataloader,
                                     test=test_dataloader)
        self._loaders = {}
        self.train_cfg, self.val_cfg, self.test_cfg = train_cfg, val_cfg, test_cfg
        self.val_evaluator_cfg, self.test_evaluator_cfg = val_evaluator, test_evaluator
        self.optim_wrapper_cfg = optim_wrapper
        self.param_scheduler_cfg = param_scheduler
        self.auto_scale_lr = auto_scale_lr
        self.load_from, self.resume_from = load_from, resume

        self._check_config_values()
        self.model = self._build_model(model, data_preprocessor)
        self.epoch = 0
        self.iter = 0
        # what a checkpoint written now would resume from
        self.completed_epochs = 0
        self.completed_iters = 0
        self.scalars = {}
        self._window = {}
        self.hook_state = {}
        self.train_loop = None
        self.val_loop = None
        self.optim_wrapper = None
        self.train_step = None
        self.predict_step = None
        self.schedulers = []
        self._train_state_cells = {}
        self.hooks = []
        self._register_hooks(default_hooks, custom_hooks)

    # ================================================================ building
    @classmethod
    def from_cfg(cls, cfg) -> 'Runner':
        """Build a runner from an mmengine ``Config``."""
        cfg = copy.deepcopy(cfg)
        _need(cfg.get('model'), 'model', 'the runner')
        kwargs = {k: cfg.get(k) for k in SCHEMA_KEYS if k in cfg}
        kwargs.setdefault('launcher', cfg.get('launcher', 'none'))
        return cls(cfg=cfg, **kwargs)

    def _check_config_values(self):
        # values that cannot be right fail now, not after the data is read or a
        # step compiled (the model's own values fail when it is built, next)
        if isinstance(self.optim_wrapper_cfg, dict):
            check_optim_wrapper_cfg(self.optim_wrapper_cfg)
        for split, loader_cfg in self._dataloader_cfgs.items():
            if isinstance(loader_cfg, dict):
                check_dataset_cfg(loader_cfg.get('dataset'), f'{split}_dataloader.dataset')

    def _setup_mindspore(self):
        mode = self.env_cfg.get('mode', 'graph')
        if mode not in ('graph', 'pynative'):
            raise ValueError(f"env_cfg.mode must be 'graph' or 'pynative', got {mode!r}")
        ms.set_context(mode=ms.GRAPH_MODE if mode == 'graph' else ms.PYNATIVE_MODE)
        target = self.env_cfg.get('device_target', 'auto')
        if target != 'auto':
            set_device_target(target)
        jit_level = self.env_cfg.get('jit_level')
        if jit_level:
            check_jit_level(jit_level, ms.get_context('device_target'))
            ms.set_context(jit_config={'jit_level': jit_level})
        self.mode = mode

    def _setup_randomness(self, randomness) -> int:
        seed = randomness.get('seed')
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (1 << 31))
        elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << 32:
            # the range NumPy's and MindSpore's seeds take
            raise ConfigError(f'randomness.seed must be an int in [0, {(1 << 32) - 1}] (or None '
                              f'for a random seed), got {seed!r}.')
        if self.world_size > 1:  # every rank must start from the same weights
            seed = dist.broadcast_seed(seed, self.rank)
        random.seed(seed)
        np.random.seed(seed)
        ms.set_seed(seed)
        if randomness.get('deterministic'):
            try:
                ms.set_deterministic(True)
            except RuntimeError:  # MindSpore allows setting it once per process
                pass
        return seed

    def _log_environment(self):
        lines = [
            f'mmcls_ms {__version__}, MindSpore {ms.__version__}, device '
            f"{ms.get_context('device_target')}, mode {self.mode}",
            self._select_conv_backend_line(),
            f'seed {self.seed}, rank {self.rank} of {self.world_size}, work_dir {self.work_dir}',
        ]
        for line in lines:
            self.logger.info(line)

    def _select_conv_backend_line(self) -> str:
        # a config without the key keeps the process's choice (by default 'auto')
        if 'conv_backend' in self.env_cfg:
            select_conv_backend(self.env_cfg['conv_backend'])
        return engine_summary()

    def _build_model(self, model_cfg, data_preprocessor):
        if not isinstance(model_cfg, dict):  # built by the caller: MODELS.build did not see it
            apply_backend(model_cfg)
            return model_cfg
        model_cfg = copy.deepcopy(model_cfg)
        if data_preprocessor is not None:
            model_cfg.setdefault('data_preprocessor', data_preprocessor)
        return MODELS.build(model_cfg)  # with the CPU backend env_cfg.conv_backend chose

    def _register_hooks(self, default_hooks, custom_hooks):
        merged = copy.deepcopy(DEFAULT_HOOKS)
        for name, hook_cfg in (default_hooks or {}).items():
            merged[name] = hook_cfg  # None disables a default hook
        for name, hook_cfg in list(merged.items()) + [(None, h) for h in (custom_hooks or [])]:
            if hook_cfg is None:
                continue
            hook_cfg = dict(hook_cfg) if isinstance(hook_cfg, dict) else hook_cfg
            priority = None
            if isinstance(hook_cfg, dict):
                priority = hook_cfg.pop('priority', None)
                hook = HOOKS.build(hook_cfg)
            else:
                hook = hook_cfg
            if priority is not None:
                hook.priority = priority
            self.hooks.append(hook)
        # stable sort: equal priorities keep their config order, as in mmengine
        self.hooks.sort(key=lambda h: priority_value(h.priority))

    def call_hook(self, name: str, **kwargs) -> None:
        for hook in self.hooks:
            getattr(hook, name)(self, **kwargs)

    def get_hook(self, type_name: str):
        return next((h for h in self.hooks if type(h).__name__ == type_name), None)

    def _loader(self, split):
        if split not in self._loaders:
            cfg = _need(self._dataloader_cfgs[split], f'{split}_dataloader', f'{split}ing')
            cfg = copy.deepcopy(dict(cfg))
            if split == 'train':
                # a short last batch would compile a second training graph
                cfg.setdefault('drop_last', True)
            num_classes, owner = self._model_num_classes()
            self._loaders[split] = build_dataloader(cfg, seed=self.seed, rank=self.rank,
                                                    world_size=self.world_size,
                                                    name=f'{split}_dataloader')
            if num_classes is not None and hasattr(self._loaders[split].dataset,
                                                   'check_labels'):
                # a label the head has no output for would silently train as all-zero target
                self._loaders[split].dataset.check_labels(num_classes, owner)
        return self._loaders[split]

    @property
    def train_dataloader(self):
        return self._loader('train')

    @property
    def val_dataloader(self):
        return self._loader('val')

    @property
    def test_dataloader(self):
        return self._loader('test')

    @property
    def max_epochs(self):
        return self.train_loop.max_epochs

    @property
    def max_iters(self):
        return self.train_loop.max_iters

    def add_train_state(self, name: str, cell) -> None:
        """Save and restore ``cell``'s parameters with the training state."""
        self._train_state_cells[name] = cell

    # ================================================================ scalars
    def update_scalars(self, **values) -> None:
        for key, value in values.items():
            self.scalars.setdefault(key, []).append(float(value))
            self._window.setdefault(key, []).append(float(value))

    def pop_window(self) -> dict:
        """Mean of each scalar since the last log line."""
        means = {k: float(np.mean(v)) for k, v in self._window.items() if v}
        self._window = {}
        return means

    # ================================================================ training
    def _build_train_objects(self):
        train_cfg = dict(_need(self.train_cfg, 'train_cfg', 'training'))
        loader = self.train_dataloader
        if len(loader) == 0:
            raise ValueError(f'The training dataloader yields no batch: {len(loader.dataset)} '
                             f'samples, batch_size {loader.batch_size}, drop_last '
                             f'{loader.drop_last}. Lower the batch size.')
        self.train_loop = self._build_train_loop(train_cfg, loader)
        self._check_num_classes(loader.dataset)
        # dropout masks from (seed, step, layer): a resumed run draws the same ones
        seed_dropout_layers(self.model, self.rank, self.world_size)

        wrapper_cfg = copy.deepcopy(dict(_need(self.optim_wrapper_cfg, 'optim_wrapper',
                                               'training')))
        self._scale_lr(wrapper_cfg)
        optimizer = build_optimizer(self.model, wrapper_cfg)
        wrapper_cfg.pop('paramwise_cfg', None)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        wrapper_cfg['optimizer'] = optimizer
        self.optim_wrapper = OPTIM_WRAPPERS.build(wrapper_cfg)
        self._setup_amp()

        self.lr_groups = ParamGroups(optimizer.initial_group_lrs)
        self.schedulers = build_param_schedulers(self.param_scheduler_cfg, self.lr_groups,
                                                 epoch_length=len(loader))
        optimizer.set_group_lrs(self.lr_groups.lrs)

        wrapper = self.optim_wrapper
        reducer = None
        if self.world_size > 1:
            reducer = nn.DistributedGradReducer(optimizer.parameters, mean=True,
                                                degree=self.world_size)
        wrapper.initialize_count_status(self.train_loop.max_iters)
        step_cls = AccumulatingTrainStep if wrapper.accumulative_counts > 1 else TrainStep
        self.train_step = step_cls(
            self.model, optimizer, max_norm=wrapper.max_norm,
            loss_scale=wrapper.init_scale if wrapper.amp else 1.0,
            dynamic_scale=wrapper.amp and wrapper.dynamic,
            growth_factor=getattr(wrapper, 'growth_factor', 2.0),
            backoff_factor=getattr(wrapper, 'backoff_factor', 0.5),
            growth_interval=getattr(wrapper, 'growth_interval', 2000), grad_reducer=reducer,
            # mixed precision skips overflowing steps (as GradScaler does); fp32 stops instead
            skip_nonfinite=wrapper.amp)
        self.add_train_state('step', self.train_step)
        self.val_loop = self._build_eval_loop('val') if self._has_val() else None

    def _model_num_classes(self):
        """``(count, config key)`` of the model's classes, or ``(None, None)``."""
        head_classes = getattr(getattr(self.model, 'head', None), 'num_classes', None)
        if isinstance(head_classes, int) and head_classes > 0:
            return head_classes, 'model.head.num_classes'
        backbone_classes = getattr(getattr(self.model, 'backbone', None), 'num_classes', None)
        if isinstance(backbone_classes, int) and backbone_classes > 0:
            return backbone_classes, 'model.backbone.num_classes'
        return None, None

    def _check_num_classes(self, dataset):
        """Fail before training when the head has fewer outputs than classes."""
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        num_classes, _ = self._model_num_classes()
        if classes and num_classes is not None and num_classes < len(classes):
            raise ValueError(
                f'The model predicts {num_classes} classes but the training data has '
                f'{len(classes)}. Set model.head.num_classes={len(classes)} (or '
                f'model.backbone.num_classes for a built-in classifier).')

    def _has_val(self):
        return all(x is not None for x in (self._dataloader_cfgs['val'], self.val_cfg,
                                           self.val_evaluator_cfg))

    def _build_train_loop(self, train_cfg, loader):
        loop_type = train_cfg.pop('type', None)
        by_epoch = train_cfg.pop('by_epoch', loop_type != 'IterBasedTrainLoop')
        if loop_type == 'IterBasedTrainLoop' or not by_epoch:
            if 'max_iters' not in train_cfg:
                raise ConfigError('train_cfg with by_epoch=False needs `max_iters`.')
            return IterBasedTrainLoop(self, loader, **train_cfg)
        if 'max_epochs' not in train_cfg:
            raise ConfigError('train_cfg needs `max_epochs` (or by_epoch=False and '
                              '`max_iters`).')
        return EpochBasedTrainLoop(self, loader, **train_cfg)

    def _scale_lr(self, wrapper_cfg):
        cfg = self.auto_scale_lr or {}
        if not cfg.get('enable', False):
            return
        if 'base_batch_size' not in cfg:
            raise ConfigError('auto_scale_lr needs `base_batch_size`.')
        real = self.train_dataloader.batch_size * self.world_size
        ratio = real / cfg['base_batch_size']
        wrapper_cfg['optimizer']['lr'] *= ratio
        self.logger.info(f'auto_scale_lr: global batch {real} '
                         f'({self.train_dataloader.batch_size} x {self.world_size}) vs base '
                         f'{cfg["base_batch_size"]}: lr scaled by {ratio:g} to '
                         f"{wrapper_cfg['optimizer']['lr']:g}")

    def _setup_amp(self):
        wrapper = self.optim_wrapper
        if not wrapper.amp:
            return
        if ms.get_context('device_target') == 'CPU':
            if wrapper.dtype == 'bfloat16' and not has_bfloat16_arithmetic():
                raise ValueError("AmpOptimWrapper(dtype='bfloat16'): this CPU has no bfloat16 "
                                 'arithmetic (AVX512_BF16 or AMX-BF16 in /proc/cpuinfo), so it '
                                 "would be slower than float32; train in float32, or use "
                                 "dtype='float16'")
            self.logger.warning('AMP on CPU: MindSpore has no fast half-precision CPU '
                                'kernels, so the network stays float32; loss scaling '
                                f"({'dynamic' if wrapper.dynamic else 'static'}, initial "
                                f'{wrapper.init_scale:g}) still runs.')
            return
        dtype = ms.float16 if wrapper.dtype == 'float16' else ms.bfloat16
        check_float32_only(self.model, 'AmpOptimWrapper')
        ms.amp.auto_mixed_precision(self.model, wrapper.amp_level, dtype=dtype)
        self.logger.info(f'AMP: amp_level {wrapper.amp_level}, {wrapper.dtype}')

    def _build_eval_loop(self, split):
        evaluator_cfg = self.val_evaluator_cfg if split == 'val' else self.test_evaluator_cfg
        evaluator = Evaluator(_need(evaluator_cfg, f'{split}_evaluator', f'{split}ing'),
                              gather_fn=dist.make_eval_gather(self.world_size))
        # every key of val_cfg / test_cfg reaches the loop, which honours or refuses it
        loop_cfg = dict((self.val_cfg if split == 'val' else self.test_cfg) or {})
        default = ValLoop if split == 'val' else TestLoop
        loop_type = loop_cfg.pop('type', default.__name__)
        loop_cls = LOOPS.get(loop_type) if isinstance(loop_type, str) else loop_type
        if not (isinstance(loop_cls, type) and issubclass(loop_cls, default)):
            raise ConfigError(f'{split}_cfg.type={loop_type!r} is not supported: mmcls_ms runs '
                              f'its {default.__name__}. Remove {split}_cfg.type.')
        return loop_cls(self, self._loader(split), evaluator, **loop_cfg)

    def current_lr(self) -> float:
        return self.lr_groups.lrs[0]

    def step_schedulers(self, by_epoch: bool) -> None:
        stepped = False
        for scheduler in self.schedulers:
            if scheduler.by_epoch == by_epoch:
                scheduler.step()
                stepped = True
        if stepped:
            self.train_step.optimizer.set_group_lrs(self.lr_groups.lrs)

    def run_train_step(self, batch) -> dict:
        set_dropout_step(self.seed, self.iter)
        wrapper = self.optim_wrapper
        inputs, labels = batch['inputs'], batch['gt_label']
        augment = getattr(getattr(self.model, 'data_preprocessor', None), 'augment', None)
        if augment is not None:  # Mixup/CutMix; drawn from (seed, iteration): resumable
            inputs, labels = augment(inputs, labels, np.random.default_rng([self.seed, self.iter]))
        args = (Tensor(inputs), Tensor(labels))
        if wrapper.accumulative_counts > 1:
            args += (Tensor(np.float32(wrapper.loss_factor(self.iter))),
                     Tensor(wrapper.should_update(self.iter)))
        loss, finite = self.train_step(*args)
        loss, finite = float(loss.asnumpy()), bool(finite.asnumpy())
        if not finite or not math.isfinite(loss):
            if wrapper.amp and wrapper.dynamic:
                scale = float(self.train_step.loss_scale.asnumpy())
                self.logger.warning(f'Iteration {self.iter + 1}: gradient overflow, update '
                                    f'skipped; loss scale is now {scale:g}.')
            else:
                skipped = ('this step did not update the weights'
                           if self.train_step.skip_nonfinite else
                           'the weights in memory took this step and are no longer usable')
                raise FloatingPointError(
                    f'The loss is {loss} at iteration {self.iter + 1} (epoch {self.epoch + 1}); '
                    f'training stopped and {skipped}. Checkpoints written so far are intact '
                    '(none is written from non-finite weights): resume from the last one with '
                    '--resume after lowering the learning rate, adding '
                    'optim_wrapper.clip_grad=dict(max_norm=...), or using --amp (dynamic loss '
                    'scale).')
        self.completed_iters = self.iter + 1
        self.update_scalars(loss=loss)
        return dict(loss=loss)

    def run_predict_step(self, batch):
        if self.predict_step is None:
            self.predict_step = PredictStep(self.model)
        n = len(batch['sample_idx'])
        full = pad_batch(batch, self._eval_batch_size(n))
        scores, labels = self.predict_step(Tensor(full['inputs']))
        # copies: the evaluator keeps every batch, and a kept asnumpy() view holds the
        # graph's output memory, so each step would allocate afresh
        return scores.asnumpy()[:n].copy(), labels.asnumpy()[:n].copy()

    def _eval_batch_size(self, n):
        # pad short batches to the loader's batch size: one compiled shape
        for split in ('val', 'test'):
            loader = self._loaders.get(split)
            if loader is not None and n <= loader.batch_size:
                return loader.batch_size
        return n

    def train(self):
        """Train as ``train_cfg`` says; return the model.

        The work_dir is locked for the run: a second training run on it refuses
        to start while this one is alive.
        """
        self._lock_work_dir()
        try:
            return self._train()
        finally:
            if self.rank == 0:
                release_work_dir(self.work_dir)

    def _lock_work_dir(self):
        busy = None
        if self.rank == 0:
            try:
                note = acquire_work_dir(self.work_dir)
                if note:
                    self.logger.info(note)
            except WorkDirBusyError as err:
                busy = err
        if self.world_size > 1:  # every rank stops, not only rank 0
            if dist.all_reduce_sum(np.array([busy is not None], np.float32))[0] > 0:
                raise busy or WorkDirBusyError(
                    f'work_dir {self.work_dir} is in use by another training run (rank 0 '
                    'says why).')
        elif busy is not None:
            raise busy

    def _train(self):
        self._build_train_objects()
        init_weights(self.model)  # the parts' init_cfg, before load_from / resume (mmengine)
        self._load_or_resume()
        self.call_hook('before_run')
        self._dump_config()
        loader = self.train_dataloader
        self.logger.info(f'Start training: {self.train_loop.max_epochs} epochs x '
                         f'{len(loader)} iterations ({loader.batch_size} images x '
                         f'{self.world_size} ranks per step), {len(loader.dataset)} samples')
        self.train_loop.run()
        self.call_hook('after_run')
        self._log_final()
        return self.model

    def _log_final(self):
        last = self.val_loop.last_metrics if self.val_loop is not None else None
        if not last:
            return
        text = '  '.join(f'{k}: {v:.4f}' for k, v in last.items() if np.ndim(v) == 0)
        best = self.hook_state.get('best_score')
        extra = f' (best {best:.4f})' if best is not None else ''
        self.logger.info(f'Training finished. Final validation: {text}{extra}')

    def val(self) -> dict:
        """Validate once; return the metrics."""
        self._load_or_resume(weights_only=True)
        self.val_loop = self._build_eval_loop('val')
        return self.val_loop.run()

    def test(self) -> dict:
        """Test once; return the metrics.  ``test_cfg.fast=True`` (tools/test.py's
        default) runs the inference fast path, which folds BN into the model's
        convolutions: the model is for inference only afterwards."""
        self._load_or_resume(weights_only=True)
        self.test_loop = self._build_eval_loop('test')
        if self.test_loop.fast:
            self.model.set_train(False)
            for change in optimize_for_inference(self.model):
                self.logger.info(f'inference fast path: {change}')
        self.call_hook('before_run')
        metrics = self.test_loop.run()
        self.call_hook('after_run')
        return metrics

    # ================================================================ checkpoints
    def _dump_config(self):
        if self.cfg is None or self.rank != 0:
            return
        name = osp.basename(self.cfg.filename) if self.cfg.filename else 'config.py'
        self.cfg.dump(osp.join(self.work_dir, name))

    def _train_state(self):
        class TrainState(nn.Cell):
            """Everything but the network that a resumed run needs, saved as
            ``optimizer.<part>.<name>`` (``step``: optimizer and loss scale;
            ``ema``: averaged weights)."""

            def __init__(self, cells):
                super().__init__(auto_prefix=False)
                for name, cell in cells.items():
                    setattr(self, name, cell)

        return TrainState(self._train_state_cells)

    def checkpoint_meta(self) -> dict:
        """Meta stored with a checkpoint: the finished epochs and iterations
        (where a resumed run continues), seed, config and classes."""
        dataset_meta = None
        for split in ('train', 'val', 'test'):
            loader = self._loaders.get(split)
            if loader is not None and getattr(loader.dataset, 'metainfo', None):
                dataset_meta = {'classes': list(loader.dataset.metainfo.get('classes') or [])}
                break
        return dict(epoch=self.completed_epochs, iter=self.completed_iters, seed=self.seed,
                    world_size=self.world_size, time=time.strftime('%Y%m%d_%H%M%S'),
                    config=self.cfg.pretty_text if self.cfg is not None else None,
                    dataset_meta=dataset_meta, hook_state=dict(self.hook_state))

    def save_checkpoint(self, path: str, save_optimizer: bool = True) -> str:
        """Write the model (and the training state) to ``path`` atomically."""
        self._check_finite_weights(path)
        meta = self.checkpoint_meta()
        self.call_hook('before_save_checkpoint', checkpoint=meta)
        state = self._train_state() if save_optimizer and self._train_state_cells else None
        return save_checkpoint(self.model, path, meta=meta, optimizer=state)

    def _check_finite_weights(self, path):
        # fp32 steps apply their update unchecked: a gradient that was not finite while the
        # loss was shows up in the weights one step before the loss, so look before saving
        for name, param in self.model.parameters_and_names():
            if not np.isfinite(param.asnumpy()).all():
                raise FloatingPointError(
                    f'Not writing {path}: parameter {name!r} has NaN or inf values after '
                    f'iteration {self.completed_iters}. Checkpoints written so far are intact: '
                    'resume from the last one with --resume after lowering the learning rate '
                    'or adding optim_wrapper.clip_grad=dict(max_norm=...).')

    def _load_or_resume(self, weights_only=False):
        resume = self.resume_from
        if resume and not weights_only:
            path = self.load_from if isinstance(self.load_from, str) else None
            if isinstance(resume, str):
                path = resume
            if path is None:
                path = find_latest_checkpoint(self.work_dir)
                if path is None:
                    self.logger.warning(f'resume: no checkpoint in {self.work_dir} '
                                        f'(no last_checkpoint file); training from scratch.')
                    return
            if not osp.isfile(path):
                raise FileNotFoundError(f'--resume {path}: no such checkpoint file. Give an '
                                        'existing .ckpt, or --resume alone to pick the latest '
                                        'one in the work_dir.')
            self.resume(path)
        elif self.load_from:
            report = load_checkpoint(self.model, self.load_from, strict=False)
            if not report.loaded_keys:
                raise ValueError(
                    f'load_from {self.load_from}: none of its parameters fits this model '
                    f'({len(report.unexpected_keys)} unexpected, {len(report.missing_keys)} '
                    'missing). Convert weights from torchvision, mmpretrain or MindCV first: '
                    'python tools/model_converters/convert.py SRC DST.')
            if weights_only and not self.allow_partial_load:
                # testing a model that is partly random weights gives meaningless metrics
                require_complete(report, 'pass --allow-partial-checkpoint to tools/test.py '
                                         '(runner.allow_partial_load = True)')
            self.logger.info(f'Loaded weights from {self.load_from}')
            self._loaded_meta = report.meta

    def resume(self, path: str) -> None:
        """Restore model, optimizer, loss scale, EMA, schedulers and position."""
        state, meta = read_checkpoint(path)
        if not any(key.startswith(OPTIMIZER_PREFIX) for key in state):
            raise ValueError(
                f'--resume {path}: this checkpoint holds the weights only, no optimizer state '
                '(best_* checkpoints and save_optimizer=False ones are written so), so training '
                'cannot continue exactly from it. Resume from a periodic checkpoint '
                '(epoch_N.ckpt / iter_N.ckpt, or --resume alone for the latest), or start a '
                f'new run from these weights with --cfg-options load_from={path}.')
        load_state_dict(self.model, state, strict=True, optimizer=self._train_state(),
                        path=path, meta=meta)
        if meta.get('seed') is not None and meta['seed'] != self.seed:
            self.seed = meta['seed']  # the data order and augmentation follow the seed
            self._loaders = {}
            self.train_loop.dataloader = self.train_dataloader
            if self.val_loop is not None:
                self.val_loop = self._build_eval_loop('val')
        self.epoch, self.iter = int(meta.get('epoch', 0)), int(meta.get('iter', 0))
        self.completed_epochs, self.completed_iters = self.epoch, self.iter
        self.hook_state = dict(meta.get('hook_state') or {})
        # replay the schedulers to the resumed position (they are deterministic)
        self.lr_groups.reset()
        self.schedulers = build_param_schedulers(self.param_scheduler_cfg, self.lr_groups,
                                                 epoch_length=len(self.train_dataloader))
        for scheduler in self.schedulers:
            for _ in range(self.epoch if scheduler.by_epoch else self.iter):
                scheduler.step()
        self.train_step.optimizer.set_group_lrs(self.lr_groups.lrs)
        self.call_hook('after_load_checkpoint', checkpoint=meta)
        self.logger.info(f'Resumed from {path}: epoch {self.epoch}, iteration {self.iter}')

"""Training, validation and test loops (``train_cfg``, ``val_cfg``, ``test_cfg``).

The loops only sequence the work and call the hooks; the runner owns the model,
the compiled steps and the state.  Hook call order and the meaning of
``runner.epoch`` / ``runner.iter`` follow mmengine: in ``after_train_iter``
``runner.iter`` is still the index of the finished iteration, and validation
after an epoch sees ``runner.epoch`` already advanced (1-based).
"""
from typing import Optional

import numpy as np
from mindspore import Tensor

from mmcls_ms.registry import LOOPS
from mmcls_ms.utils.arg_checks import check_int
from . import dist


class _TrainLoop:
    """What both training loops share: the validation schedule and one training iteration."""

    def __init__(self, runner, dataloader, val_begin: int, val_interval: int):
        self.runner = runner
        self.dataloader = dataloader
        self.val_begin = val_begin
        self.val_interval = check_int(val_interval, 'train_cfg.val_interval')
        self.stop_training = False  # set by EarlyStoppingHook

    def _should_validate(self, progress: int, last: int) -> bool:
        """``progress`` counts epochs or iterations, whichever the loop is based on."""
        return (self.runner.val_loop is not None and progress >= self.val_begin
                and (progress % self.val_interval == 0 or progress == last))

    def run_iter(self, batch_idx: int, batch) -> None:
        runner = self.runner
        runner.call_hook('before_train_iter', batch_idx=batch_idx, data_batch=batch)
        outputs = runner.run_train_step(batch)
        runner.call_hook('after_train_iter', batch_idx=batch_idx, data_batch=batch,
                         outputs=outputs)
        runner.iter += 1


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoop):
    """Train ``max_epochs`` epochs; validate every ``val_interval`` from ``val_begin``."""

    by_epoch = True

    def __init__(self, runner, dataloader, max_epochs: int, val_begin: int = 1,
                 val_interval: int = 1):
        self.max_epochs = check_int(max_epochs, 'train_cfg.max_epochs')
        self.max_iters = max_epochs * len(dataloader)
        super().__init__(runner, dataloader, val_begin, val_interval)

    def run(self):
        runner = self.runner
        runner.call_hook('before_train')
        while runner.epoch < self.max_epochs and not self.stop_training:
            self.run_epoch()
            if self._should_validate(runner.epoch, self.max_epochs):
                runner.val_loop.run()
        runner.call_hook('after_train')

    def run_epoch(self):
        runner = self.runner
        runner.model.set_train(True)
        runner.call_hook('before_train_epoch')
        start = runner.iter - runner.epoch * len(self.dataloader)  # > 0 after a mid-epoch resume
        for batch_idx, batch in enumerate(self.dataloader.iter_from(start), start):
            self.run_iter(batch_idx, batch)
        runner.completed_epochs = runner.epoch + 1
        runner.call_hook('after_train_epoch')
        runner.epoch += 1


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoop):
    """Train ``max_iters`` iterations, cycling the data; validate every
    ``val_interval`` iterations."""

    by_epoch = False

    def __init__(self, runner, dataloader, max_iters: int, val_begin: int = 1,
                 val_interval: int = 1000):
        self.max_iters = check_int(max_iters, 'train_cfg.max_iters')
        self.max_epochs = -(-max_iters // len(dataloader))
        super().__init__(runner, dataloader, val_begin, val_interval)

    def run(self):
        runner = self.runner
        runner.call_hook('before_train')
        runner.call_hook('before_train_epoch')
        runner.model.set_train(True)
        epoch_len = len(self.dataloader)
        while runner.iter < self.max_iters and not self.stop_training:
            runner.epoch, start = divmod(runner.iter, epoch_len)
            self.dataloader.set_epoch(runner.epoch)
            for batch_idx, batch in enumerate(self.dataloader.iter_from(start), start):
                if runner.iter >= self.max_iters or self.stop_training:
                    break
                self.run_iter(batch_idx, batch)
                if self._should_validate(runner.iter, self.max_iters):
                    runner.val_loop.run()
                    runner.model.set_train(True)
        runner.epoch = self.max_epochs
        runner.call_hook('after_train_epoch')
        runner.call_hook('after_train')


class _EvalLoop:
    """Shared by validation and test: predict every batch, then evaluate.

    ``fp16`` is mmengine's key for evaluating under autocast; MindSpore has no
    autocast region, so ``True`` is refused rather than ignored.
    """

    mode = 'val'

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        if fp16:
            raise ValueError(
                f'{self.mode}_cfg.fp16=True (mixed-precision evaluation) is not supported by '
                'mmcls_ms: evaluation runs in the precision of the model (float32, or '
                'mixed precision when training with optim_wrapper.type=AmpOptimWrapper). '
                f'Remove {self.mode}_cfg.fp16 or set it to False.')
        self.runner = runner
        self.dataloader = dataloader
        self.evaluator = evaluator
        self.last_metrics = None

    def run(self):
        runner, mode = self.runner, self.mode
        runner.model.set_train(False)
        runner.call_hook(f'before_{mode}')
        runner.call_hook(f'before_{mode}_epoch')
        self.evaluator.reset()
        seen = []
        for batch_idx, batch in enumerate(self.dataloader):
            runner.call_hook(f'before_{mode}_iter', batch_idx=batch_idx, data_batch=batch)
            scores, labels = runner.run_predict_step(batch)
            self.evaluator.process(scores, labels, batch['gt_label'], batch['sample_idx'])
            if mode == 'val':
                seen.append((scores, batch['gt_label']))
            runner.call_hook(f'after_{mode}_iter', batch_idx=batch_idx, data_batch=batch,
                             outputs=(scores, labels))
        metrics = self.evaluator.evaluate()
        if seen:
            val_loss = validation_loss(runner, seen)
            if val_loss is not None:
                metrics['val_loss'] = val_loss
        self.last_metrics = metrics
        runner.call_hook(f'after_{mode}_epoch', metrics=metrics)
        runner.call_hook(f'after_{mode}')
        return metrics


@LOOPS.register_module()
class ValLoop(_EvalLoop):
    mode = 'val'


@LOOPS.register_module()
class TestLoop(_EvalLoop):
    """The test loop; ``fast=True`` (tools/test.py's default) first applies the
    inference fast path, which folds BN into the convolutions: the model is for
    inference only afterwards."""

    mode = 'test'

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False, fast: bool = False):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.fast = fast


def validation_loss(runner, seen) -> Optional[float]:
    """The head's loss over the validation set (all ranks), from the predicted
    softmax scores: a softmax cross entropy (plain, smoothed or soft) depends
    on the logits only through ``log_softmax``, and ``log(softmax(z))`` has
    the same ``log_softmax`` as ``z``.  None when the model has no loss module,
    its loss is a sigmoid one (``use_sigmoid``: it needs the logits, which the
    scores do not keep) or the data has no labels.

    Example:
        >>> metrics['val_loss'] = validation_loss(runner, [(scores, gt_labels)])  # doctest: +SKIP
    """
    loss_module = getattr(getattr(runner.model, 'head', None), 'loss_module', None)
    scores = np.concatenate([s for s, _ in seen])
    gts = np.concatenate([g for _, g in seen])
    keep = gts >= 0  # -1: unlabelled
    if loss_module is None or getattr(loss_module, 'use_sigmoid', False):
        return None
    total, count = 0.0, int(keep.sum())
    if count:
        log_scores = np.log(np.maximum(scores[keep], np.finfo(np.float32).tiny))
        value = loss_module(Tensor(log_scores.astype(np.float32)),
                            Tensor(gts[keep].astype(np.int32))).asnumpy()
        # a sum over this rank's samples, averaged over all ranks' samples below
        reduction = getattr(loss_module, 'reduction', 'mean')
        total = float(value.sum()) if reduction != 'mean' else float(value) * count
    sums = np.array([total, count], np.float64)
    if runner.world_size > 1:  # every rank takes part, with or without labelled samples
        sums = dist.all_reduce_sum(sums)
    return float(sums[0] / sums[1]) if sums[1] else None


def pad_batch(batch: dict, batch_size: int) -> dict:
    """Pad a short last batch to ``batch_size`` (``sample_idx=-1`` marks the
    copies), so evaluation compiles one graph shape and drops the padding."""
    n = len(batch['sample_idx'])
    if n >= batch_size:
        return batch
    extra = batch_size - n
    pick = np.zeros(extra, np.int64)
    return {'inputs': np.concatenate([batch['inputs'], batch['inputs'][pick]]),
            'gt_label': np.concatenate([batch['gt_label'], batch['gt_label'][pick]]),
            'sample_idx': np.concatenate([batch['sample_idx'],
                                          np.full(extra, -1, batch['sample_idx'].dtype)])}

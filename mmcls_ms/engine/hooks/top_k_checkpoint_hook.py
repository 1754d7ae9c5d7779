"""``TopKCheckpointHook``: keep the K best checkpoints by a validation metric
(MindCV's ``ckpt_save_policy='top_k'`` with ``keep_checkpoint_max=K``).

After each validation the weights are saved as
``top_<metric>_<unit>_<n>.ckpt`` if the score is among the best K so far, and
the checkpoint that drops out of the K is deleted.  The ranking lives in
``<work_dir>/top_k_checkpoints.json``, so a resumed run (``--resume``) keeps
ranking against the same K files; entries newer than the resumed position
are dropped (the resumed run writes them again).
"""
import json
import os
import os.path as osp
from typing import Optional

from mmcls_ms.registry import HOOKS
from mmcls_ms.utils.arg_checks import check_int
from .checkpoint_hook import write_text_atomic
from .early_stopping_hook import infer_rule
from .hook import Hook

RANKING_FILE = 'top_k_checkpoints.json'


@HOOKS.register_module()
class TopKCheckpointHook(Hook):
    """Keep the best ``k`` checkpoints by ``monitor``.

    Args:
        k: how many to keep, >= 1.
        monitor: the validation metric; 'auto' takes the first one.
        rule: 'greater' or 'less'; None infers it from the name.
        save_optimizer: also store the training state in them.
        file_format: 'ckpt' or 'safetensors'.

    Example:
        >>> custom_hooks = [dict(type='TopKCheckpointHook', k=3, monitor='accuracy/top1')]
    """

    priority = 'VERY_LOW'

    def __init__(self, k: int = 3, monitor: str = 'auto', rule: Optional[str] = None,
                 save_optimizer: bool = False, file_format: str = 'ckpt'):
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"TopKCheckpointHook rule must be 'greater' or 'less', got {rule!r}.")
        self.k = check_int(k, 'TopKCheckpointHook k')
        self.monitor = monitor
        self.rule = rule
        self.save_optimizer = save_optimizer
        self.file_format = file_format
        self.ranking = []  # [{'score', 'step', 'path'}], best first

    def _ranking_path(self, runner):
        return osp.join(runner.work_dir, RANKING_FILE)

    def after_val_epoch(self, runner, metrics=None):
        if runner.train_loop is None or not metrics:
            return
        key = next(iter(metrics)) if self.monitor == 'auto' else self.monitor
        if key not in metrics:
            raise KeyError(f'TopKCheckpointHook: monitor={self.monitor!r} is not among the '
                           f'validation metrics {list(metrics)}.')
        rule = self.rule or infer_rule(key)
        score = float(metrics[key])
        unit = 'epoch' if runner.train_loop.by_epoch else 'iter'
        step = runner.epoch if unit == 'epoch' else runner.iter
        sign = -1.0 if rule == 'greater' else 1.0
        candidate = dict(score=score, step=step, path=osp.join(
            runner.work_dir, f"top_{key.replace('/', '_')}_{unit}_{step}.{self.file_format}"))
        # best first; ties keep the earlier checkpoint ahead
        ranking = sorted(self.ranking + [candidate], key=lambda e: (sign * e['score'], e['step']))
        kept, dropped = ranking[:self.k], ranking[self.k:]
        self.ranking = kept
        if runner.rank != 0:
            return
        if candidate in kept:
            runner.save_checkpoint(candidate['path'], save_optimizer=self.save_optimizer)
            place = kept.index(candidate) + 1
            runner.logger.info(f'Top-{self.k} checkpoint #{place} ({key} {score:.4f}): '
                               f'{osp.basename(candidate["path"])}')
        for entry in dropped:
            if entry is not candidate and osp.isfile(entry['path']):
                os.remove(entry['path'])
        write_text_atomic(self._ranking_path(runner), json.dumps(self.ranking, indent=1))

    def after_load_checkpoint(self, runner, checkpoint):
        path = self._ranking_path(runner)
        if not osp.isfile(path):
            return
        with open(path) as f:
            ranking = json.load(f)
        by_epoch = runner.train_loop is None or runner.train_loop.by_epoch
        position = runner.epoch if by_epoch else runner.iter
        self.ranking = [e for e in ranking if e['step'] <= position and osp.isfile(e['path'])]
        for entry in ranking:
            if entry['step'] > position and osp.isfile(entry['path']) and runner.rank == 0:
                os.remove(entry['path'])

"""Save checkpoints: periodic, last, and best; all writes are atomic.

Files go to the work_dir: ``epoch_3.ckpt`` (or ``iter_300.ckpt``), the best
one as ``best_accuracy_top1_epoch_3.ckpt``, and a ``last_checkpoint`` text
file naming the newest, which ``--resume`` (auto) reads.  Each checkpoint is
written to a temporary file and renamed, so a killed run never leaves a
truncated file under a checkpoint name.
"""
import os
import os.path as osp
from typing import Optional

from mmcls_ms.registry import HOOKS
from .hook import Hook

LAST_CHECKPOINT = 'last_checkpoint'


def write_text_atomic(path: str, text: str) -> None:
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def find_latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named by ``work_dir/last_checkpoint``, if it exists."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    if path and not osp.isabs(path):
        path = osp.join(work_dir, path)
    return path if path and osp.isfile(path) else None


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Args follow mmengine: ``interval``, ``by_epoch``, ``max_keep_ckpts``,
    ``save_last``, ``save_best`` ('auto' = the first metric), ``rule``
    ('greater' or 'less'), ``out_dir``, ``save_optimizer``, ``file_format``."""

    priority = 'VERY_LOW'

    def __init__(self, interval: int = -1, by_epoch: bool = True, save_optimizer: bool = True,
                 out_dir: Optional[str] = None, max_keep_ckpts: int = -1, save_last: bool = True,
                 save_best=None, rule: Optional[str] = None, file_format: str = 'ckpt',
                 **kwargs):
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"CheckpointHook: rule must be 'greater' or 'less', got {rule!r}")
        if isinstance(save_best, (list, tuple)):
            if len(save_best) != 1:
                raise ValueError('CheckpointHook: save_best takes one metric name here.')
            save_best = save_best[0]
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.out_dir = out_dir
        self.max_keep_ckpts = max_keep_ckpts
        self.save_last = save_last
        self.save_best = save_best
        self.rule = rule
        self.file_format = file_format
        self.saved = []
        self.best_score = None
        self.best_ckpt = None

    def before_train(self, runner):
        self.out_dir = self.out_dir or runner.work_dir

    # ------------------------------------------------------------- periodic
    def after_train_epoch(self, runner):
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval) or (
                self.save_last and runner.epoch + 1 == runner.max_epochs):
            self._save(runner, f'epoch_{runner.epoch + 1}.{self.file_format}')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval) or (
                self.save_last and self.is_last_train_iter(runner)):
            self._save(runner, f'iter_{runner.iter + 1}.{self.file_format}')

    def _save(self, runner, filename):
        if runner.rank != 0:
            return
        path = osp.join(self.out_dir, filename)
        runner.save_checkpoint(path, save_optimizer=self.save_optimizer)
        write_text_atomic(osp.join(self.out_dir, LAST_CHECKPOINT), path)
        if path not in self.saved:
            self.saved.append(path)
        while self.max_keep_ckpts > 0 and len(self.saved) > self.max_keep_ckpts:
            old = self.saved.pop(0)
            if osp.isfile(old):
                os.remove(old)
        runner.logger.info(f'Saved checkpoint {path}')

    # ------------------------------------------------------------- best
    def after_val_epoch(self, runner, metrics=None):
        if not self.save_best or not metrics or runner.train_loop is None:
            return
        key = self.save_best
        if key == 'auto':
            key = next(iter(metrics))
        if key not in metrics:
            raise KeyError(f'CheckpointHook: save_best={self.save_best!r} is not among the '
                           f'validation metrics {list(metrics)}.')
        rule = self.rule or ('less' if 'loss' in key else 'greater')
        score = float(metrics[key])
        better = (self.best_score is None
                  or (score > self.best_score if rule == 'greater' else score < self.best_score))
        if not better:
            return
        self.best_score = score
        runner.hook_state['best_score'] = score
        if runner.rank != 0:
            return
        unit = 'epoch' if runner.train_loop.by_epoch else 'iter'
        step = runner.epoch if unit == 'epoch' else runner.iter
        name = f"best_{key.replace('/', '_')}_{unit}_{step}.{self.file_format}"
        path = osp.join(self.out_dir, name)
        runner.save_checkpoint(path, save_optimizer=False)
        if self.best_ckpt and self.best_ckpt != path and osp.isfile(self.best_ckpt):
            os.remove(self.best_ckpt)
        self.best_ckpt = path
        runner.hook_state['best_ckpt'] = path
        runner.logger.info(f'The best checkpoint with {score:.4f} {key} at {unit} {step} '
                           f'is saved to {name}.')

    def after_load_checkpoint(self, runner, checkpoint):
        self.best_score = checkpoint.get('hook_state', {}).get('best_score')
        self.best_ckpt = checkpoint.get('hook_state', {}).get('best_ckpt')

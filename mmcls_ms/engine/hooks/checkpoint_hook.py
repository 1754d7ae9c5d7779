"""Save checkpoints: periodic, last, and best; all writes are atomic.

Files go to the work_dir: ``epoch_3.ckpt`` (or ``iter_300.ckpt``), the best
one as ``best_accuracy_top1_epoch_3.ckpt``, and a ``last_checkpoint`` text
file naming the newest, which ``--resume`` (auto) reads.  Each checkpoint is
written to a temporary file and renamed, so a killed run never leaves a
truncated file under a checkpoint name; the temporary file of a killed
writer is removed when the next run starts.

Across ``--resume`` the bookkeeping continues: the periodic checkpoints already
in the folder count towards ``max_keep_ckpts``, and the best checkpoint of the
interrupted run (named in the checkpoint meta, or found in the folder) is the
one a better score replaces.
"""
import os
import os.path as osp
import re
import tempfile
from typing import List, Optional

from mmcls_ms.registry import HOOKS
from mmcls_ms.weights.checkpoint import read_checkpoint_meta, remove_stale_temporaries
from .hook import Hook, check_hook_options

LAST_CHECKPOINT = 'last_checkpoint'

# mmengine's CheckpointHook arguments that mean what mmcls_ms always does only at
# their default: the scheduler state is always saved, names are fixed, metrics
# are compared by ``rule``, and files are local.
_DEFAULTS_ONLY = dict(save_param_scheduler=True, filename_tmpl=None, published_keys=None,
                      save_begin=0, greater_keys=None, less_keys=None, backend_args=None,
                      file_client_args=None)
_ARGUMENTS = ('interval', 'by_epoch', 'save_optimizer', 'out_dir', 'max_keep_ckpts',
              'save_last', 'save_best', 'rule', 'file_format')


def write_text_atomic(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file, then rename).

    Example:
        >>> write_text_atomic('work_dirs/run1/last_checkpoint', 'epoch_3.ckpt')  # doctest: +SKIP
    """
    folder, name = osp.split(osp.abspath(path))
    # the temporary name follows the checkpoint writer's, so one cleanup finds both
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.tmp-{os.getpid()}-', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


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
        check_hook_options('CheckpointHook', kwargs, _DEFAULTS_ONLY, _ARGUMENTS)
        if rule not in (None, 'greater', 'less'):
            raise ValueError(f"CheckpointHook: rule must be 'greater' or 'less', got {rule!r}")
        if isinstance(save_best, (list, tuple)):
            if len(save_best) != 1:
                raise ValueError('CheckpointHook: save_best takes one metric name here.')
            save_best = save_best[0]
        # when and where to save, what goes in a file
        self.interval, self.by_epoch, self.out_dir = interval, by_epoch, out_dir
        self.save_optimizer, self.save_last, self.file_format = (save_optimizer, save_last,
                                                                 file_format)
        # which files stay: the newest periodic ones and the best by one metric
        self.max_keep_ckpts, self.save_best, self.rule = max_keep_ckpts, save_best, rule
        self.saved = []  # periodic checkpoints of this run, oldest first
        self.best_score = self.best_ckpt = None
        self._superseded = set()

    def _folder(self, runner) -> str:
        self.out_dir = self.out_dir or runner.work_dir
        return self.out_dir

    def before_train(self, runner):
        folder = self._folder(runner)
        if runner.rank == 0:
            for path in remove_stale_temporaries(folder):
                runner.logger.info(f'Removed {path}, the unfinished file of a save that was '
                                   'killed mid-write.')

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
        path = osp.join(self._folder(runner), filename)
        runner.save_checkpoint(path, save_optimizer=self.save_optimizer)
        write_text_atomic(osp.join(self.out_dir, LAST_CHECKPOINT), path)
        if path not in self.saved:
            self.saved.append(path)
        while self.max_keep_ckpts > 0 and len(self.saved) > self.max_keep_ckpts:
            old = self.saved.pop(0)
            if osp.isfile(old):
                os.remove(old)
        runner.logger.info(f'Saved checkpoint {path}')

    def _periodic_checkpoints(self, folder: str, upto: int) -> List[str]:
        """This hook's periodic checkpoints in ``folder`` up to step ``upto``, oldest first."""
        unit = 'epoch' if self.by_epoch else 'iter'
        pattern = re.compile(rf'^{unit}_(\d+)\.{re.escape(self.file_format)}$')
        found = []
        for name in os.listdir(folder) if osp.isdir(folder) else []:
            match = pattern.match(name)
            if match and int(match.group(1)) <= upto:
                found.append((int(match.group(1)), osp.join(folder, name)))
        return [path for _, path in sorted(found)]

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
        score = float(metrics[key])
        if not self._better(score, key):
            return
        self.best_score = score
        runner.hook_state['best_score'] = score
        if runner.rank != 0:
            return
        unit = 'epoch' if runner.train_loop.by_epoch else 'iter'
        step = runner.epoch if unit == 'epoch' else runner.iter
        name = f"best_{key.replace('/', '_')}_{unit}_{step}.{self.file_format}"
        path = osp.join(self._folder(runner), name)
        # the best file names itself in its meta, so a run resumed later knows it
        runner.hook_state['best_ckpt'] = path
        runner.save_checkpoint(path, save_optimizer=False)
        for old in {self.best_ckpt, *self._superseded} - {None, path}:
            if osp.isfile(old):
                os.remove(old)
        self.best_ckpt = path
        self._superseded = set()
        runner.logger.info(f'The best checkpoint with {score:.4f} {key} at {unit} {step} '
                           f'is saved to {name}.')

    def _better(self, score: float, key: str) -> bool:
        rule = self.rule or ('less' if 'loss' in key else 'greater')
        return (self.best_score is None
                or (score > self.best_score if rule == 'greater' else score < self.best_score))

    def _best_checkpoints(self, folder: str) -> List[str]:
        """The ``best_*`` checkpoints of this hook's metric in ``folder``."""
        metric = r'.+' if self.save_best in (None, 'auto') else re.escape(
            str(self.save_best).replace('/', '_'))
        pattern = re.compile(rf'^best_{metric}_(epoch|iter)_\d+\.{re.escape(self.file_format)}$')
        return sorted(osp.join(folder, n) for n in (os.listdir(folder) if osp.isdir(folder)
                                                   else []) if pattern.match(n))

    def after_load_checkpoint(self, runner, checkpoint):
        state = checkpoint.get('hook_state') or {}
        self.best_score = state.get('best_score')
        self.best_ckpt = state.get('best_ckpt')
        if runner.rank != 0:
            return
        folder = self._folder(runner)
        unit_step = checkpoint.get('epoch' if self.by_epoch else 'iter', 0)
        # periodic checkpoints written before the resume count towards max_keep_ckpts
        self.saved = self._periodic_checkpoints(folder, int(unit_step))
        # a best checkpoint written after the one the resume starts from (validation
        # follows the periodic save) is still the best so far: adopt the best of them,
        # and replace all of them with the next better one
        if not self.save_best:
            return
        found = self._best_checkpoints(folder)
        for path in found:
            meta_state = read_checkpoint_meta(path).get('hook_state') or {}
            score = meta_state.get('best_score')
            named = osp.basename(meta_state.get('best_ckpt') or '')
            if score is not None and named == osp.basename(path) and (
                    self._better(float(score), named)):
                self.best_score, self.best_ckpt = float(score), path
        self._superseded = set(found) - {self.best_ckpt}
        runner.hook_state.update(best_score=self.best_score, best_ckpt=self.best_ckpt)

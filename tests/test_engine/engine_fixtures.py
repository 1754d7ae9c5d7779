"""Builds the tiny engine-test config (imported by the engine tests)."""
import os.path as osp

from mmcls_ms.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(REPO, 'configs', 'vgg', 'vgg11bn-gap_1xb32_digits.py')


def tiny_cfg(root, work_dir, epochs=2, batch_size=16, num_workers=0, **options):
    """The quickstart config on the tiny subset; ``options`` are --cfg-options."""
    base = {
        'work_dir': str(work_dir),
        'train_cfg.max_epochs': epochs,
        'param_scheduler': [
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
                 convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max(epochs, 2),
                 convert_to_iter_based=True)],
        'default_hooks.logger.interval': 2,
        'randomness': dict(seed=3, deterministic=True),
    }
    for split, ann in (('train', 'tiny_train.txt'), ('val', 'tiny_val.txt'),
                       ('test', 'tiny_val.txt')):
        base[f'{split}_dataloader.batch_size'] = batch_size
        base[f'{split}_dataloader.num_workers'] = num_workers
        base[f'{split}_dataloader.dataset'] = dict(
            _delete_=True, type='CustomDataset', data_root=root, ann_file=ann, data_prefix='',
            classes=[str(i) for i in range(10)],
            pipeline=(load_config(QUICKSTART).train_pipeline if split == 'train' else
                      load_config(QUICKSTART).test_pipeline))
    base.update(options)
    return load_config(QUICKSTART, base)

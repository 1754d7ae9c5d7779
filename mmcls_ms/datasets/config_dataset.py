"""The dataset of one dataloader of a config file, for the data tools."""
from typing import Optional, Sequence

from mmcls_ms.registry import DATASETS
from mmcls_ms.utils.config import load_config
from .base_dataset import BaseDataset

PHASES = ('train', 'val', 'test')


def build_config_dataset(config: str, phase: str = 'train', cfg_options: Sequence[str] = (),
                         pipeline: Optional[list] = None) -> BaseDataset:
    """Build the dataset of ``{phase}_dataloader`` of the config file ``config``.

    Args:
        config: path of the config file.
        phase: 'train', 'val' or 'test'.
        cfg_options: ``KEY=VALUE`` overrides, as ``--cfg-options`` takes them.
        pipeline: replaces the config's pipeline (``[]``: the file list only).

    Example:
        >>> ds = build_config_dataset('configs/vgg/vgg11bn-gap_1xb32_digits.py', 'val',
        ...                           pipeline=[])  # doctest: +SKIP
        >>> ds.data_list[0]['img_path']             # doctest: +SKIP
        'data/digits/val/0/0000.png'
    """
    if phase not in PHASES:
        raise ValueError(f'phase must be one of {PHASES}, got {phase!r}.')
    cfg = load_config(config, list(cfg_options))
    key = f'{phase}_dataloader'
    if not cfg.get(key) or 'dataset' not in cfg[key]:
        raise KeyError(f'{config} has no {key!r} with a dataset.')
    dataset_cfg = dict(cfg[key]['dataset'])
    if pipeline is not None:
        dataset_cfg['pipeline'] = pipeline
    return DATASETS.build(dataset_cfg)

"""Every data pipeline in configs/ builds, and runs on a real 500x375 JPEG."""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmcls_ms.datasets.transforms import Compose

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    c for c in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if not any(part in c for part in ('_base_/models', '_base_/schedules', 'default_runtime')))


@pytest.mark.parametrize('config', CONFIGS, ids=lambda c: osp.relpath(c, REPO))
def test_config_pipelines_run(config, image_files):
    cfg = Config.fromfile(config)
    loaders = [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader') if k in cfg]
    if not loaders:
        pytest.skip('no dataloaders in this config')
    for key in loaders:
        dataset = cfg[key]['dataset']
        while 'pipeline' not in dataset:  # a wrapper (RepeatDataset, ...) holds the dataset
            dataset = dataset.get('dataset') or dataset['datasets'][0]
        pipeline = Compose(dataset['pipeline'])
        out = pipeline(dict(img_path=image_files['jpeg'], gt_label=1,
                            rng=np.random.default_rng(0)))
        inputs = out['inputs']
        assert inputs.dtype == np.uint8 and inputs.ndim == 3 and inputs.shape[0] == 3, key
        assert out['data_samples'].gt_label.tolist() == [1]

"""``ImageNet``: ImageNet-1k in mmpretrain's layout, with its 1000 class names."""
import os.path as osp
from typing import Optional, Union

from mmcls_ms.registry import DATASETS
from .categories import imagenet_categories
from .custom import CustomDataset


@DATASETS.register_module()
class ImageNet(CustomDataset):
    """ImageNet-1k.

    Layout (as mmpretrain)::

        data_root/
          train/n01440764/*.JPEG ...     # class folders, in class order
          val/...                        # class folders or flat + meta/val.txt
          meta/train.txt, meta/val.txt   # optional "relative/path label" lists

    With ``split``, ``data_prefix`` defaults to the split name and
    ``ann_file`` to ``meta/{split}.txt`` when that file exists (otherwise the
    class folders are scanned).  The ``test`` split has no labels.

    Example:
        >>> ds = ImageNet('data/imagenet', split='val')  # doctest: +SKIP
        >>> ds.classes[:2]                                # doctest: +SKIP
        ('tench', 'goldfish')
    """
    SPLITS = ('train', 'val', 'test')

    def __init__(self, data_root: str = '', split: str = '', data_prefix: Union[str, dict] = '',
                 ann_file: str = '', metainfo: Optional[dict] = None, **kwargs):
        if split:
            if split not in self.SPLITS:
                raise ValueError(f"ImageNet: unknown split {split!r}; choose one of "
                                 f"{self.SPLITS}, or leave split='' and set data_prefix / "
                                 'ann_file yourself.')
            data_prefix = data_prefix or split
            if not ann_file:
                default_ann = osp.join('meta', f'{split}.txt')
                if osp.isfile(osp.join(data_root, default_ann)):
                    ann_file = default_ann
            if split == 'test':
                kwargs.setdefault('with_label', False)
        self.split = split
        metainfo = dict(metainfo or {})
        if 'classes' not in metainfo and kwargs.get('classes') is None:
            metainfo['classes'] = imagenet_categories()
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file,
                         metainfo=metainfo, **kwargs)

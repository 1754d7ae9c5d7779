"""``CustomDataset``: images in class folders, or listed in an annotation file."""
import os
import os.path as osp
import warnings
from typing import Callable, List, Optional, Sequence, Union

from mmcls_ms.registry import DATASETS
from .base_dataset import BaseDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def find_class_folders(root: str) -> List[str]:
    """Sorted names of the sub-folders of ``root``."""
    return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith('.'))


def scan_images(folder: str, extensions: Sequence[str]) -> List[str]:
    """Relative paths of every image under ``folder`` (recursive, sorted)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(extensions):
                found.append(osp.relpath(osp.join(dirpath, name), folder))
    return found


def parse_ann_file(path: str, with_label: bool = True) -> List[tuple]:
    """``[(relative_path, label or None, 'file:line'), ...]`` from an annotation file.

    Each non-empty line is ``relative/path label``; the path may contain
    spaces (the label is the last field).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file {path!r} does not exist. Give ann_file '
                                'relative to data_root, or leave it empty to scan class folders.')
    entries = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            where = f'{path}:{lineno}'
            if not with_label:
                entries.append((line, None, where))
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f'{where}: expected "relative/path label", got {line!r}.')
            try:
                label = int(parts[1])
            except ValueError:
                raise ValueError(f'{where}: the label {parts[1]!r} is not an integer.') from None
            if label < 0:
                raise ValueError(f'{where}: label {label} is negative.')
            entries.append((parts[0], label, where))
    if not entries:
        raise ValueError(f'Annotation file {path!r} lists no images.')
    return entries


@DATASETS.register_module()
class CustomDataset(BaseDataset):
    """A dataset of image files in one of two layouts.

    - Class folders (``ann_file=''``)::

          data_root/data_prefix/cat/001.jpg
          data_root/data_prefix/dog/xyz.png

      Labels follow the sorted folder names (or the order of ``classes``
      when the folder names are class names).
    - An annotation file of ``relative/path label`` lines; paths are
      relative to ``data_root/data_prefix``.

    Args:
        data_root, data_prefix, ann_file, classes, metainfo, pipeline: see
            ``BaseDataset``.
        with_label (bool): the data has labels (default True); without, the
            annotation file lists only paths, or every image under
            ``data_prefix`` is taken.
        extensions (tuple): image file endings to collect (case-insensitive).

    Example:
        >>> ds = CustomDataset(data_root='data/digits', data_prefix='train',
        ...                    pipeline=[dict(type='LoadImageFromFile')])  # doctest: +SKIP
        >>> len(ds), ds.classes[:3]                                        # doctest: +SKIP
        (1442, ('0', '1', '2'))
    """

    def __init__(self, data_root: str = '', data_prefix: Union[str, dict] = '', ann_file: str = '',
                 with_label: bool = True, extensions: Sequence[str] = IMG_EXTENSIONS,
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 metainfo: Optional[dict] = None, pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs):
        self.with_label = with_label
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(data_root=data_root, ann_file=ann_file, data_prefix=data_prefix,
                         classes=classes, metainfo=metainfo, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        if self.ann_file:
            return [dict(img_path=osp.join(self.data_prefix, rel), ann_line=where,
                         **({} if label is None else {'gt_label': label}))
                    for rel, label, where in parse_ann_file(self.ann_file, self.with_label)]
        if not self.with_label:
            return self._scan_unlabelled()
        return self._scan_class_folders()

    def _scan_unlabelled(self):
        """Every image under ``data_prefix``, without labels (e.g. a test split)."""
        root = self.data_prefix
        if not osp.isdir(root):
            raise FileNotFoundError(f'Image folder {root!r} does not exist (data_root='
                                    f'{self.data_root!r}). Check data_root / data_prefix.')
        files = scan_images(root, self.extensions)
        if not files:
            raise ValueError(f'Image folder {root!r} has no images with extensions '
                             f'{self.extensions}.')
        return [dict(img_path=osp.join(root, f)) for f in files]

    def _scan_class_folders(self):
        root = self.data_prefix
        if not osp.isdir(root):
            raise FileNotFoundError(f'Image folder {root!r} does not exist (data_root='
                                    f'{self.data_root!r}). Check data_root / data_prefix.')
        folders = find_class_folders(root)
        if not folders:
            raise ValueError(f'Image folder {root!r} has no class sub-folders. Put the images '
                             'in one folder per class, or give an ann_file.')
        classes = self._metainfo.get('classes')
        if classes is None:
            self._metainfo['classes'] = tuple(folders)
            folder_to_idx = {f: i for i, f in enumerate(folders)}
        elif set(folders) <= set(classes):
            folder_to_idx = {f: classes.index(f) for f in folders}
        elif len(folders) <= len(classes):
            # e.g. ImageNet: folders are WordNet ids in class order, classes are names
            folder_to_idx = {f: i for i, f in enumerate(folders)}
        else:
            raise ValueError(f'Image folder {root!r} has {len(folders)} class folders but only '
                             f'{len(classes)} classes were given.')
        data_list = []
        empty = []
        for folder in folders:
            files = scan_images(osp.join(root, folder), self.extensions)
            if not files:
                empty.append(folder)
            data_list.extend(dict(img_path=osp.join(root, folder, f),
                                  gt_label=folder_to_idx[folder]) for f in files)
        if not data_list:
            raise ValueError(f'Image folder {root!r} has no images with extensions '
                             f'{self.extensions} in its class folders.')
        if empty:
            # mmpretrain tolerates empty class folders (the class keeps its index)
            warnings.warn(f'Class folder(s) {[osp.join(root, e) for e in empty][:5]} hold no '
                          f'images with extensions {self.extensions}.')
        return data_list

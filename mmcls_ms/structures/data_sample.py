"""``DataSample``: the labels and predictions of one image, in numpy.

It mirrors mmpretrain's ``DataSample`` (fields ``gt_label``, ``gt_score``,
``pred_label``, ``pred_score`` plus free-form metainfo, chainable ``set_*``
methods) without mmengine's torch-based ``BaseDataElement``.

Example:
    >>> from mmcls_ms.structures import DataSample
    >>> s = DataSample(metainfo=dict(num_classes=10)).set_gt_label(3)
    >>> s.gt_label
    array([3])
    >>> s.set_pred_score([0.1] * 10).pred_score.shape
    (10,)
"""
from numbers import Number

import numpy as np

_DATA_FIELDS = ('gt_label', 'gt_score', 'pred_label', 'pred_score')


def _to_label_array(value, name):
    """Int, list, tuple or array -> 1-D int64 array (mmpretrain's format_label)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{name} must be an int or a sequence of ints, got a bool.')
    if isinstance(value, Number):
        if int(value) != value:
            raise TypeError(f'{name} must be an integer, got {value!r}.')
        return np.array([int(value)], dtype=np.int64)
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f'{name} must be an int or a 1-D sequence of ints, '
                        f'got {type(value).__name__} with dtype {arr.dtype} and shape {arr.shape}.')
    return arr.astype(np.int64)


def _to_score_array(value, name):
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim != 1:
        raise ValueError(f'{name} must be 1-D (one score per class), got shape {arr.shape}.')
    return arr


class DataSample:
    """Ground truth and predictions of one sample, plus its metainfo.

    Args:
        metainfo (dict, optional): e.g. ``num_classes``, ``img_path``,
            ``ori_shape``; readable as attributes.
    """

    def __init__(self, metainfo=None, **data):
        object.__setattr__(self, '_metainfo', {})
        object.__setattr__(self, '_data', {})
        if metainfo:
            self.set_metainfo(metainfo)
        for key, value in data.items():
            setattr(self, key, value)

    # -- metainfo ---------------------------------------------------------
    def set_metainfo(self, metainfo: dict) -> 'DataSample':
        """Add meta fields (image path, shapes, ``num_classes``...)."""
        for key, value in dict(metainfo).items():
            if key in self._data:
                raise AttributeError(f'{key!r} is already a data field of this DataSample.')
            self._metainfo[key] = value
        return self

    def metainfo_keys(self):
        return list(self._metainfo)

    @property
    def metainfo(self) -> dict:
        return dict(self._metainfo)

    # -- label / score fields ----------------------------------------------
    def set_gt_label(self, value) -> 'DataSample':
        """Set the ground-truth label(s): an int or a sequence of ints."""
        return self._set_label('gt_label', value)

    def set_gt_score(self, value) -> 'DataSample':
        """Set a soft / one-hot target: one score per class."""
        return self._set_score('gt_score', value)

    def set_pred_label(self, value) -> 'DataSample':
        return self._set_label('pred_label', value)

    def set_pred_score(self, value) -> 'DataSample':
        return self._set_score('pred_score', value)

    def set_field(self, value, name: str) -> 'DataSample':
        """Set any other data field (e.g. ``set_field(feat, 'feature')``)."""
        setattr(self, name, value)
        return self

    def _set_label(self, name, value):
        self._data[name] = _to_label_array(value, name)
        return self

    def _set_score(self, name, value):
        score = _to_score_array(value, name)
        num_classes = self._metainfo.get('num_classes')
        if num_classes is not None and score.shape[0] != num_classes:
            raise ValueError(f'{name} has {score.shape[0]} scores but num_classes is '
                             f'{num_classes}.')
        self._data[name] = score
        return self

    # -- attribute access --------------------------------------------------
    def __getattr__(self, name):
        data = object.__getattribute__(self, '_data')
        if name in data:
            return data[name]
        metainfo = object.__getattribute__(self, '_metainfo')
        if name in metainfo:
            return metainfo[name]
        raise AttributeError(f'DataSample has no field {name!r}; it has '
                             f'{sorted(data) + sorted(metainfo)}.')

    def __setattr__(self, name, value):
        setter = getattr(type(self), f'set_{name}', None) if name in _DATA_FIELDS else None
        if setter is not None:
            setter(self, value)
        elif name in self._metainfo:
            raise AttributeError(f'{name!r} is metainfo; change it with set_metainfo().')
        else:
            self._data[name] = value

    def __delattr__(self, name):
        if name in self._data:
            del self._data[name]
        else:
            raise AttributeError(name)

    def __contains__(self, name):
        return name in self._data or name in self._metainfo

    def get(self, name, default=None):
        return getattr(self, name) if name in self else default

    def keys(self):
        return list(self._data)

    def to_dict(self) -> dict:
        """All data and metainfo fields in one plain dict."""
        return {**self._metainfo, **self._data}

    def __repr__(self):
        def short(v):
            if isinstance(v, np.ndarray) and v.size > 8:
                return f'array(shape={v.shape}, dtype={v.dtype})'
            return repr(v)

        meta = ', '.join(f'{k}={short(v)}' for k, v in self._metainfo.items())
        data = ', '.join(f'{k}={short(v)}' for k, v in self._data.items())
        return f'<DataSample(META: {meta}) (DATA: {data})>'

"""Read the predictions that ``tools/test.py --out FILE.pkl`` dumps (mmpretrain's
``DumpResults`` list: one dict per sample with ``pred_score`` (all classes),
``pred_label``, ``gt_label``, ``sample_idx``, ``img_path``), for the offline
analysis tools.

Example:
    >>> import pickle, numpy as np
    >>> rows = [dict(sample_idx=0, gt_label=np.array([1]), pred_label=np.array([1]),
    ...              pred_score=np.array([0.2, 0.8], np.float32))]
    >>> pickle.dump(rows, open('/tmp/r.pkl', 'wb'))
    >>> load_results('/tmp/r.pkl').gt_labels
    array([1])
"""
import os
import pickle
from dataclasses import dataclass
from typing import List

import numpy as np


@dataclass
class Results:
    """The arrays of a results file, in file order."""
    rows: List[dict]
    pred_scores: np.ndarray   # (N, C) float32
    pred_labels: np.ndarray   # (N,)
    gt_labels: np.ndarray     # (N,)


def _first(value):
    return int(np.asarray(value).reshape(-1)[0])


def load_results(path: str) -> Results:
    """Load and check a results pickle; one clear error names what is wrong."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Results file not found: {path}. Write it with '
                                'tools/test.py CONFIG CHECKPOINT --out results.pkl')
    if not path.endswith(('.pkl', '.pickle')):
        raise ValueError(f'{path}: results must be a .pkl file from tools/test.py --out '
                         'results.pkl (a .json file holds metrics or a different layout).')
    with open(path, 'rb') as f:
        try:
            rows = pickle.load(f)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                ImportError, IndexError) as err:
            raise ValueError(f'{path} is not a readable results pickle ({type(err).__name__}: '
                             f'{err}); write it with tools/test.py CONFIG CHECKPOINT --out '
                             'results.pkl.') from None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f'{path} holds no list of per-sample predictions; write it with '
                         'tools/test.py --out results.pkl (not --out-item metrics).')
    for key in ('pred_score', 'gt_label'):
        if key not in rows[0]:
            raise ValueError(f'{path}: the predictions have no {key!r}; write them with '
                             'tools/test.py --out results.pkl.')
    scores = np.stack([np.asarray(r['pred_score'], np.float32).reshape(-1) for r in rows])
    # the label of the reported scores (mmpretrain's analysis tools take the arg-max)
    labels = scores.argmax(1)
    gts = np.array([_first(r['gt_label']) for r in rows])
    return Results(rows, scores, labels, gts)

"""``ImageClassificationInferencer``: images in, class scores out (as mmpretrain).

Preprocessing is the config's test pipeline without ``LoadImageFromFile``
(for Inception: ResizeEdge 342 -> CenterCrop 299 -> pack; the normalisation
runs inside the network).  The forward pass is compiled once with ``ms.jit``
(graph mode) and reused; MindSpore caches one graph per input shape.

Example:
    >>> from mmcls_ms.apis import ImageClassificationInferencer
    >>> inferencer = ImageClassificationInferencer('vgg11bn_8xb32_in1k')  # doctest: +SKIP
    >>> inferencer('demo/bird.JPEG')[0]['pred_class']                      # doctest: +SKIP
"""
import os
import warnings
from typing import TYPE_CHECKING, List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config
from rich.progress import Progress

from mmcls_ms.utils.output_path import check_output_dir
from mmcls_ms.weights.download import UrlMapping
from .base import BaseInferencer, require_positive_int
from .model_index import list_models as _list_models

if TYPE_CHECKING:  # MindSpore is imported on first use, not with the API
    from mindspore import nn


class ImageClassificationInferencer(BaseInferencer):
    """Classify images with a model of the zoo, a config, or a built model.

    Args:
        model, pretrained, device, mirror, url_mapping: the model and its
            weights, as :class:`~mmcls_ms.apis.base.BaseInferencer` takes them.
        classes: class names to report instead of the checkpoint's.
        fast: the inference fast path (BN folded into the convolutions, the
            preprocessor as one 1x1 convolution, ReLUs fused into the oneDNN
            convolutions; :func:`mmcls_ms.deployment.optimize_for_inference`),
            which changes the model in place.  None (the default): on for a model
            the inferencer builds, off for a model passed in; False: off.

    Example:
        >>> inferencer = ImageClassificationInferencer(
        ...     'configs/vgg/vgg11bn_8xb32_in1k.py', pretrained='vgg11bn.ckpt')  # doctest: +SKIP
        >>> results = inferencer(['a.jpg', 'b.jpg'], batch_size=2)                # doctest: +SKIP
    """

    def __init__(self, model: Union[str, 'Config', 'nn.Cell'],
                 pretrained: Union[bool, str] = True, device: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None, mirror: Optional[str] = None,
                 url_mapping: UrlMapping = None, fast: Optional[bool] = None):
        # MindSpore and the data pipeline (OpenCV) load on first use: `import mmcls_ms.apis`
        # and list_models stay light
        import mindspore as ms
        from mindspore import nn
        built_here = not isinstance(model, nn.Cell)
        super().__init__(model, pretrained=pretrained, device=device, mirror=mirror,
                         url_mapping=url_mapping)
        self.fast_path = []  # what the inference fast path changed
        if fast or (fast is None and built_here):
            # at module level it would import MindSpore with the API
            from mmcls_ms.deployment.fast_inference import optimize_for_inference
            self.fast_path = optimize_for_inference(self.model)
        dataset_meta = getattr(self.model, '_dataset_meta', None) or {}
        self.classes = tuple(classes) if classes is not None else dataset_meta.get('classes')

        net = self.model
        use_head_predict = callable(getattr(net, 'predict', None))

        def predict_scores(inputs):
            # the network normalises uint8 NCHW itself; the head's predict
            # gives the softmax over all classes (ImageClassifier.predict)
            if use_head_predict:
                return net.predict(inputs)[0]
            logits = net(inputs)
            if isinstance(logits, (tuple, list)):
                logits = logits[-1]
            return ms.ops.softmax(logits.astype(ms.float32), -1)

        # compiled on the first call for each input shape, then reused
        self._predict_scores = ms.jit(predict_scores)

    @staticmethod
    def list_models(pattern: Optional[str] = None) -> List[str]:
        """The zoo's image classification models matching ``pattern``
        (a prefix wildcard, as :func:`mmcls_ms.apis.list_models`).

        Example:
            >>> ImageClassificationInferencer.list_models('inception')
            ['inception-v3_3rdparty_8xb32_in1k', 'inception-v3_mindcv-8xb32_in1k']
        """
        return _list_models(pattern=pattern, task='Image Classification')

    # ----------------------------------------------------------------- forward
    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Softmax scores ``(N, num_classes)`` for a uint8 NCHW batch."""
        import mindspore as ms  # on first use (see __init__)
        return self._predict_scores(ms.Tensor(batch)).asnumpy()

    def __call__(self, inputs: Union[str, np.ndarray, Sequence[Union[str, np.ndarray]]],
                 return_datasamples: bool = False, batch_size: int = 1,
                 show_dir: Optional[str] = None, show: bool = False, wait_time: int = 0,
                 draw_score: bool = True, top_k: int = 5, progress: Optional[bool] = None,
                 **unused) -> list:
        """Classify ``inputs``; returns one result per image, in order.

        Args:
            inputs: an image path, a folder, a numpy BGR image or a list.
            return_datasamples: return ``DataSample`` objects (with
                ``pred_score`` and ``pred_label``) instead of dicts.
            batch_size: images per forward pass.
            show_dir: write each image with its top-k classes drawn on it here.
            show: show each image with its top-k classes in a window (needs a
                display; refused without one).
            wait_time: seconds each window stays up with ``show`` (0: until a key).
            draw_score: also draw the scores.
            top_k: how many classes to draw.
            progress: show a rich progress bar (default: when there are more
                than 4 batches).

        Returns:
            list of dicts with ``pred_scores`` (numpy, softmax over all classes),
            ``pred_label`` (int), ``pred_score`` (float) and ``pred_class``
            (str, when the classes are known).
        """
        if unused:
            warnings.warn(f'ImageClassificationInferencer ignores {sorted(unused)}.')
        if show:
            from mmcls_ms.visualization.visualizer import has_display  # OpenCV: on use
            if not has_display():
                raise RuntimeError('show=True: there is no display to open a window on '
                                   '(DISPLAY is unset); use show_dir=... to write the drawn '
                                   'images instead.')
            if wait_time < 0:
                raise ValueError(f'wait_time must be >= 0 seconds, got {wait_time}.')
        require_positive_int(batch_size, 'batch_size')
        require_positive_int(top_k, 'top_k')
        if show_dir:
            check_output_dir(show_dir, 'show_dir')
        items = self._expand_inputs(inputs)
        starts = range(0, len(items), batch_size)
        use_bar = progress if progress is not None else len(starts) > 4
        outputs = []
        bar = None
        if use_bar:
            bar = Progress()
            task = bar.add_task('Inference', total=len(items))
            bar.start()
        try:
            for start in starts:
                chunk = items[start:start + batch_size]
                packed = [self.preprocess(item, start + i) for i, item in enumerate(chunk)]
                scores = self._forward_packed(packed)
                for i, (item, pack, score) in enumerate(zip(chunk, packed, scores)):
                    outputs.append(self._postprocess(item, pack, score, start + i,
                                                     return_datasamples, show_dir,
                                                     draw_score, top_k,
                                                     wait_time if show else None))
                if bar:
                    bar.update(task, advance=len(chunk))
        finally:
            if bar:
                bar.stop()
        return outputs

    def _postprocess(self, item, pack, score, index, return_datasamples, show_dir,
                     draw_score, top_k, show_for=None):
        label = int(np.argmax(score))
        result = dict(pred_scores=score.astype(np.float32), pred_label=label,
                      pred_score=float(score[label]))
        if self.classes is not None and label < len(self.classes):
            result['pred_class'] = self.classes[label]
        if show_dir or show_for is not None:
            self._draw(item, result, index, show_dir, draw_score, top_k, show_for)
        if return_datasamples:
            sample = pack['data_samples']
            sample.set_pred_score(score).set_pred_label(label)
            if 'pred_class' in result:
                sample.set_field(result['pred_class'], 'pred_class')
            return sample
        return result

    def top_k(self, result: dict, k: int = 5) -> list:
        """``[(class name or index, score), ...]`` of the k best classes."""
        require_positive_int(k, 'top_k')
        scores = result['pred_scores']
        order = np.argsort(-scores)[:k]
        names = self.classes
        return [((names[i] if names is not None and i < len(names) else str(int(i))),
                 float(scores[i])) for i in order]

    def _draw(self, item, result, index, show_dir, draw_score, k, show_for=None):
        """Draw the top-k classes on the image: written to ``show_dir``, and shown
        for ``show_for`` seconds when that is not None."""
        # OpenCV, only when drawing: `import mmcls_ms.apis` stays light
        from mmcls_ms.visualization.visualizer import UniversalVisualizer, write_image
        img = item if isinstance(item, np.ndarray) else self._load(item, index)['img']
        name = (os.path.basename(item) if not isinstance(item, np.ndarray)
                else f'{index:06d}.png')
        canvas = UniversalVisualizer.draw_cls(img, self.top_k(result, k), draw_score=draw_score)
        if show_for is not None:
            UniversalVisualizer.show(canvas, win_name=name, wait_time=show_for)
        if show_dir:
            os.makedirs(show_dir, exist_ok=True)
            out_path = os.path.join(show_dir, os.path.splitext(name)[0] + '.png')
            write_image(out_path, canvas)
            result['visualization'] = out_path

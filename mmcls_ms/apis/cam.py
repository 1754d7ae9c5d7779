"""Class activation maps (Grad-CAM, Grad-CAM++) of MindSpore classifiers.

For a target layer with activations ``A`` (K maps) and a class score ``y``
(the head's logit), with ``g = dy/dA`` from MindSpore's autograd:

* GradCAM:   ``w_k = mean_ij g_kij``;
* GradCAM++: ``w_k = sum_ij relu(g_kij) * a_kij`` with
  ``a = g^2 / (2 g^2 + sum_ij(A_k) g^3)`` (0 where ``g == 0``);

then ``cam = relu(sum_k w_k A_k)``, scaled to [0, 1] and resized to the
image, as pytorch-grad-cam (which mmpretrain's ``vis_cam.py`` uses) does.
Several layers: the mean of their maps, scaled again.  The activations and
gradients are read with a forward hook, so the model runs in PyNative mode.

Example:
    >>> import numpy as np
    >>> from mmcls_ms.apis import get_model
    >>> model = get_model('configs/vgg/vgg11bn-gap_1xb32_digits.py')
    >>> default_target_layers(model)
    ['backbone.features.11']
    >>> cam = compute_cam(model, np.zeros((1, 3, 32, 32), np.uint8), ['backbone.features.11'])
    >>> cam.shape
    (32, 32)
"""
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

# MindSpore and OpenCV are imported in the functions, on first use, not with the API
if TYPE_CHECKING:
    from mindspore import nn

CAM_METHODS = ('gradcam', 'gradcam++')


def default_target_layers(model: 'nn.Cell') -> List[str]:
    """The last convolutional block of the backbone: InceptionV3's
    ``Mixed_7c`` (all four branches), VGG's last conv module, else the last
    cell under ``backbone`` that holds a ``Conv2d``."""
    from mindspore import nn

    from mmcls_ms.utils.cells import stock_type  # imports MindSpore, as the line above
    cells = dict(model.cells_and_names())
    if 'backbone.Mixed_7c' in cells:
        return ['backbone.Mixed_7c']

    def has_conv(cell):
        return any(issubclass(stock_type(c), nn.Conv2d) for _, c in cell.cells_and_names())

    features = cells.get('backbone.features')
    if features is not None:
        convs = [i for i, cell in enumerate(features) if has_conv(cell)]
        if convs:
            return [f'backbone.features.{convs[-1]}']
    convs = [name for name, cell in cells.items()
             if name.startswith('backbone.') and issubclass(stock_type(cell), nn.Conv2d)]
    if not convs:
        raise ValueError('The backbone has no Conv2d layer to explain; pass --target-layers '
                         '(see --preview-model for the names).')
    return [convs[-1]]


def _layer(model, name: str):
    cells = dict(model.cells_and_names())
    if name not in cells or not name:
        close = [n for n in cells if n and name.split('.')[-1] in n.split('.')][:5]
        raise ValueError(f'--target-layers {name!r} is no layer of the model'
                         + (f'; similar names: {close}' if close else '')
                         + '. List them with --preview-model.')
    return cells[name]


def _layer_cam(model, inputs, layer, categories: Sequence[int], method: str) -> np.ndarray:
    """The unscaled map ``relu(sum_k w_k A_k)`` of one layer, at its resolution."""
    import mindspore as ms
    state = {}

    def hook(cell, args, output):
        if not isinstance(output, ms.Tensor) or output.ndim != 4:
            raise ValueError(f'The target layer {type(cell).__name__} gives '
                             f'{type(output).__name__} output, not an NCHW map; pick a '
                             'convolutional layer.')
        state['activations'] = output
        return output + state['delta'] if 'delta' in state else output

    handle = layer.register_forward_hook(hook)
    try:
        x = ms.Tensor(inputs)
        model(x)
        activations = state['activations'].asnumpy()

        def target_score(delta):
            state['delta'] = delta
            logits = model(x)
            return sum(logits[0, int(c)] for c in categories)

        grads = ms.grad(target_score, grad_position=0)(
            ms.Tensor(np.zeros(activations.shape, np.float32))).asnumpy()
    finally:
        handle.remove()
    a, g = activations[0].astype(np.float64), grads[0].astype(np.float64)
    if method == 'gradcam':
        weights = g.mean(axis=(1, 2))
    else:  # gradcam++
        g2, g3 = g ** 2, g ** 3
        denominator = 2 * g2 + a.sum(axis=(1, 2))[:, None, None] * g3
        alpha = np.where(g != 0, g2 / np.where(denominator != 0, denominator, 1e-7), 0)
        weights = (np.maximum(g, 0) * alpha).sum(axis=(1, 2))
    return np.maximum((weights[:, None, None] * a).sum(axis=0), 0)


def _scale(cam: np.ndarray, size=None) -> np.ndarray:
    import cv2
    cam = cam - cam.min()
    cam = cam / (1e-7 + cam.max())
    if size is not None:
        cam = cv2.resize(cam.astype(np.float32), (size[1], size[0]))
    return cam.astype(np.float32)


def compute_cam(model: 'nn.Cell', inputs: np.ndarray, target_layers: Sequence[str],
                target_category: Optional[Sequence[int]] = None,
                method: str = 'GradCAM') -> np.ndarray:
    """The class activation map of one image, in [0, 1], at the input size.

    Args:
        model: a classifier whose call returns the class logits.
        inputs: a ``(1, 3, H, W)`` batch as the test pipeline packs it.
        target_layers: layer names, as ``model.cells_and_names()`` lists them.
        target_category: class indices whose summed score is explained;
            None for the predicted class.
        method: ``'GradCAM'`` or ``'GradCAM++'`` (any case).

    Returns:
        ``(H, W)`` float32 map.
    """
    import mindspore as ms
    method = method.lower()
    if method not in CAM_METHODS:
        raise ValueError(f'--method {method!r} is not supported; choose GradCAM or GradCAM++.')
    if ms.get_context('mode') != ms.PYNATIVE_MODE:
        ms.set_context(mode=ms.PYNATIVE_MODE)  # the hooks need eager execution
    inputs = np.asarray(inputs)
    if inputs.ndim != 4 or inputs.shape[0] != 1:
        raise ValueError(f'compute_cam takes one image as a (1, C, H, W) batch, got '
                         f'{inputs.shape}.')
    model.set_train(False)
    logits = model(ms.Tensor(inputs)).asnumpy()
    num_classes = logits.shape[-1]
    categories = [int(logits[0].argmax())] if not target_category else list(target_category)
    for c in categories:
        if not 0 <= int(c) < num_classes:
            raise ValueError(f'--target-category {c} is out of range: the model has '
                             f'{num_classes} classes (0-{num_classes - 1}).')
    size = inputs.shape[2:]
    cams = [_scale(_layer_cam(model, inputs, _layer(model, name), categories, method), size)
            for name in target_layers]
    return _scale(np.mean(cams, axis=0))


def overlay_cam(image: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """``image`` (HxWx3 BGR uint8) with the map drawn over it in the JET
    colours, as pytorch-grad-cam's ``show_cam_on_image``."""
    import cv2
    heatmap = cv2.applyColorMap(np.uint8(255 * cam), cv2.COLORMAP_JET).astype(np.float32)
    blended = heatmap / 255 + image.astype(np.float32) / 255
    return np.uint8(255 * blended / blended.max())

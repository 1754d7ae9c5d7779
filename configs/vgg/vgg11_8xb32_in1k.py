# VGG-11 on ImageNet-1k: 8 devices x 32 images, lr 0.01.
_base_ = [
    '../_base_/models/vgg11.py',
    '../_base_/datasets/imagenet_bs32_pil_resize.py',
    '../_base_/schedules/imagenet_bs256.py',
    '../_base_/default_runtime.py',
]

# VGG without batch norm diverges at lr 0.1.
optim_wrapper = dict(optimizer=dict(lr=0.01))

# VGG-19 with batch norm on ImageNet-1k: 8 devices x 32 images, lr 0.1.
_base_ = [
    '../_base_/models/vgg19bn.py',
    '../_base_/datasets/imagenet_bs32_pil_resize.py',
    '../_base_/schedules/imagenet_bs256.py',
    '../_base_/default_runtime.py',
]

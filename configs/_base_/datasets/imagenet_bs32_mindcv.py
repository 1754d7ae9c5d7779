# ImageNet-1k as MindCV's VGG recipes feed it: 32 images per device, 224 crops.
_base_ = ['./imagenet_bs32.py']

# MindCV normalises with ImageNet's RGB mean / std: imagenet_bs32's data_preprocessor as is.

# random resized crop, flip and colour jitter (brightness, contrast, saturation 0.4)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         aspect_ratio_range=(0.75, 1.333)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]

# short side 256 (= 224 / 0.875, OpenCV bilinear), then a 224 centre crop
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

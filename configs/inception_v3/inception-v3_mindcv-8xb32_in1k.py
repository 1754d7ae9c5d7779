# InceptionV3 as MindCV trains it (configs/inceptionv3/inception_v3_ascend.yaml):
# 8 devices x 32 images, 299x299 crops, 200 epochs.  Loading MindCV's
# `inception_v3-38f67890.ckpt` into this config reproduces its numerics:
# - branch average pools do not count the zero padding (TensorFlow 'same'
#   pooling in MindCV; torchvision counts it);
# - dropout 0.2 before the classifier (torchvision: 0.5);
# - an auxiliary classifier (its loss weighs 0.1 in training);
# - test resize: short side 341 (= 299 / 0.875), then a 299 centre crop.
_base_ = [
    '../_base_/models/inception_v3.py',
    '../_base_/datasets/imagenet_bs32.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        aux_logits=True,
        dropout=0.2,
        pool_count_include_pad=False,
        # MindCV's BN momentum 0.9997 in MindSpore's convention (see docs/design.md)
        norm_cfg=dict(type='BN', momentum=0.0003, eps=0.001)),
    head=dict(
        type='ClsHead',
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=1000,
                  mode='original'),
        aux_loss_weight=0.1,
        topk=(1, 5)),
)

# MindCV normalises with ImageNet's RGB mean / std: imagenet_bs32's data_preprocessor as is.

# MindCV's training augmentation: random resized crop, flip, AutoAugment
# (ImageNet policy) and random erasing with p=0.25 (MindCV erases normalised
# pixels with 0, i.e. with the mean colour: BGR fill below).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=299, crop_ratio_range=(0.08, 1.0),
         aspect_ratio_range=(0.75, 1.333)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='AutoAugment', policies='imagenet'),
    dict(type='RandomErasing', erase_prob=0.25, min_area_ratio=0.02, max_area_ratio=1 / 3,
         aspect_range=(0.3, 3.3), mode='const', fill_color=(103.53, 116.28, 123.675)),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=341, edge='short'),
    dict(type='CenterCrop', crop_size=299),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# SGD with momentum, lr 0.045 for a global batch of 256, weight decay 4e-5;
# linear warm-up over 5 epochs, then cosine decay to 0 over 195 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.045, momentum=0.9, weight_decay=0.00004))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    # MindCV updates the lr every step
    dict(type='CosineAnnealingLR', T_max=195, eta_min=0.0, by_epoch=True, begin=5, end=200,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

# VGG-11 as MindCV trains it (configs/vgg/vgg11_ascend.yaml): 8 devices x 32
# images, 224x224 crops, 200 epochs.  MindCV's convolutions have no bias: its
# checkpoint converts with zero biases, which computes exactly the same.
# Test resize: short side 256 (= 224 / 0.875, OpenCV bilinear), 224 centre crop.
_base_ = [
    '../_base_/models/vgg11.py',
    '../_base_/datasets/imagenet_bs32.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(
        type='ClsHead',
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=1000,
                  mode='original'),
        topk=(1, 5)),
)

# MindCV's mean / std (ImageNet's, in 0-255), on RGB images
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

# MindCV's training augmentation: random resized crop, flip and colour
# jitter (brightness, contrast, saturation 0.4).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         aspect_ratio_range=(0.75, 1.333)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

# SGD with momentum, lr 0.01 for a global batch of 256, weight decay 4e-5;
# linear warm-up over 2 epochs, then cosine decay to 1e-4 over 198 epochs.
# MindCV's VGG recipe runs amp_level O2 with a fixed loss scale of 1024 (on CPU
# the network stays float32 and only the loss scaling runs).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale=1024.0,
    amp_level='O2',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.00004))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    # MindCV updates the lr every step
    dict(type='CosineAnnealingLR', T_max=198, eta_min=0.0001, by_epoch=True, begin=2, end=200,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

# The bundled handwritten digits (10 classes, 1442 train / 355 val images),
# 32x32 grayscale PNGs written to data/digits on first use (or by
# `python tools/misc/prepare_digits.py`). The VGG quickstart resizes them to 16 px.
dataset_type = 'Digits'
data_preprocessor = dict(
    num_classes=10,
    # mean and std of the training pixels (the same in all 3 channels), in 0-255
    mean=[79.6, 79.6, 79.6],
    std=[90.8, 90.8, 90.8],
    # gray images: the channel order does not matter
    to_rgb=False,
)

# Mild augmentation: shifts of up to 2 px. No flips: a mirrored 2 is no 2.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=32),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root='data/digits',
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root='data/digits',
        split='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

# the digits have no separate test split: test on val
test_dataloader = val_dataloader
test_evaluator = val_evaluator

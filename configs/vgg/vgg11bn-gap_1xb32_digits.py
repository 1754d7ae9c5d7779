# Quickstart: VGG-11-BN without its classifier, a global average pool and a
# linear head, trained on the bundled digits. Under a minute on 2 CPU cores.
_base_ = [
    '../_base_/models/vgg11bn.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_bs32_coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    # 16 px in, four pooled stages reach 1x1: the fifth stage runs there, unpooled
    backbone=dict(num_classes=-1, with_last_pool=False),
    # no classifier: the 1x1x512 map of the last stage goes to the neck
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)

# The digits are 8x8 scans stored at 32 px: 16 px keeps every scanned pixel and
# costs a quarter of the compute. Shifts of up to 1 px (an eighth of a digit).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=16),
    dict(type='RandomCrop', crop_size=16, padding=1),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=16),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
)

randomness = dict(seed=0)

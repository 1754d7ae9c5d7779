# Quickstart: InceptionV3 at 80x80 (its minimum is 75) on the bundled digits,
# without its classifier: global average pool + linear head, label smoothing 0.1.
_base_ = [
    '../_base_/models/inception_v3.py',
    '../_base_/datasets/digits_bs32_inception.py',
    '../_base_/schedules/digits_bs32_coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(num_classes=-1),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=2048,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0),
        topk=(1, )),
)

# InceptionV3 learns the 80 px digits more slowly than VGG: 10 epochs at lr 0.02
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
)

randomness = dict(seed=0)

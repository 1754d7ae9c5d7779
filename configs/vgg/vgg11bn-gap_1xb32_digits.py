# Quickstart: VGG-11-BN without its classifier, a global average pool and a
# linear head, trained on the bundled 32x32 digits. About 2 minutes on 2 CPU cores.
_base_ = [
    '../_base_/models/vgg11bn.py',
    '../_base_/datasets/digits_bs32.py',
    '../_base_/schedules/digits_bs32_coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    # no classifier: the 1x1x512 map of the last stage goes to the neck
    backbone=dict(num_classes=-1),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )),
)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='auto'),
)

randomness = dict(seed=0)

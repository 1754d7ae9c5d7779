# A small VGG-11-BN for fast API tests: the VGG features, global average
# pooling and a 10-class linear head, on 32x32 crops.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='VGG', depth=11, num_classes=-1, norm_cfg=dict(type='BN')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512),
)
data_preprocessor = dict(
    num_classes=10, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=4,
    dataset=dict(type='Digits', data_root='data/digits', split='val', pipeline=test_pipeline))

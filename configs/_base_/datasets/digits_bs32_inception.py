# The bundled digits resized to 80x80 for InceptionV3 (which needs >= 75 px).
# Same data as digits_bs32.py: 32x32 PNGs in data/digits, upsampled on the fly.
_base_ = ['./digits_bs32.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # shifts of up to 2 px at 32 px (5 px at 80 px); no flips for digits
    dict(type='RandomCrop', crop_size=32, padding=2),
    dict(type='Resize', scale=80),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=80),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

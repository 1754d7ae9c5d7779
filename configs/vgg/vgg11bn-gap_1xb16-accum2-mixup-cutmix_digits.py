# The quickstart with a fine-tuning recipe's parts, all at once: gradient
# accumulation (2 x 16 = the quickstart's 32 images per update), Mixup and
# CutMix with soft-target cross entropy, the training set repeated twice per
# epoch, early stopping on the validation top-1 and the best 3 checkpoints kept.
# See docs/recipes.md.
_base_ = ['./vgg11bn-gap_1xb32_digits.py']

model = dict(
    # mmpretrain's batch augments: Mixup on 30% of the batches, CutMix on 30%,
    # the rest unchanged
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)],
                   probs=[0.3, 0.3]),
    head=dict(loss=dict(type='CrossEntropyLoss', use_soft=True)),
)

train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=2,
        dataset=dict(type='Digits', data_root='data/digits', split='train',
                     pipeline={{_base_.train_pipeline}})),
)

# sum the gradients of 2 batches of 16 per update
optim_wrapper = dict(accumulative_counts=2)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=4, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=4)

custom_hooks = [
    # stop when the top-1 has not improved by 0.1 points in 2 validations
    dict(type='EarlyStoppingHook', monitor='accuracy/top1', patience=2, min_delta=0.1),
    # keep the 3 best checkpoints by the top-1 (top_accuracy_top1_epoch_N.ckpt)
    dict(type='TopKCheckpointHook', k=3, monitor='accuracy/top1'),
]

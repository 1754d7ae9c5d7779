# A short recipe for the bundled digits: SGD lr 0.01, 1 warmup epoch, cosine decay.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4, nesterov=True))

param_scheduler = [
    # warm up over the first epoch, iteration by iteration
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    # then cosine to zero by the last epoch
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=5,
         convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=32)

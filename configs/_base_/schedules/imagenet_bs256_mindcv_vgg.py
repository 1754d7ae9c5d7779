# MindCV's VGG schedule: SGD momentum 0.9, lr 0.01 for a global batch of 256,
# weight decay 4e-5, 2 warm-up epochs, per-step cosine to 1e-4 at epoch 200.
# It trains with amp_level O2 and a fixed loss scale of 1024 (on CPU the network
# stays float32 and only the loss scaling runs).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale=1024.0,
    amp_level='O2',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.00004))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=198, eta_min=0.0001, by_epoch=True, begin=2,
         end=200, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=256)

# Runtime defaults shared by every config.
default_scope = 'mmcls_ms'

default_hooks = dict(
    # time each iteration and its data loading
    timer=dict(type='IterTimerHook'),
    # progress bar, a log line every 100 iterations, scalars as JSON lines
    logger=dict(type='LoggerHook', interval=100),
    # set the lr of each iteration from `param_scheduler`
    param_scheduler=dict(type='ParamSchedulerHook'),
    # save a checkpoint every epoch
    checkpoint=dict(type='CheckpointHook', interval=1),
    # reshuffle the data of each rank every epoch
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # draw predictions during validation (off by default)
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    # 'graph' compiles each train / eval step (fast); 'pynative' runs op by
    # op (for debugging)
    mode='graph',
    # 'auto' picks Ascend, then GPU, then CPU
    device_target='auto',
    dist_cfg=dict(backend='msrun'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'

# load weights from this checkpoint (fine-tuning), or resume from it
load_from = None
resume = False

randomness = dict(seed=None, deterministic=False)

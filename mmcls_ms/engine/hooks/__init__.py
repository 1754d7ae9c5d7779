from .checkpoint_hook import CheckpointHook, find_latest_checkpoint
from .early_stopping_hook import EarlyStoppingHook
from .ema_hook import EMAHook
from .hook import Hook
from .iter_timer_hook import IterTimerHook
from .logger_hook import LoggerHook
from .param_scheduler_hook import ParamSchedulerHook
from .precise_bn_hook import PreciseBNHook
from .sampler_seed_hook import DistSamplerSeedHook
from .top_k_checkpoint_hook import TopKCheckpointHook
from .visualization_hook import VisualizationHook

__all__ = ['Hook', 'IterTimerHook', 'LoggerHook', 'ParamSchedulerHook', 'CheckpointHook',
           'EMAHook', 'DistSamplerSeedHook', 'VisualizationHook', 'find_latest_checkpoint',
           'EarlyStoppingHook', 'PreciseBNHook', 'TopKCheckpointHook']

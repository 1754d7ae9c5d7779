from .loops import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
from .runner import ConfigError, Runner
from .train_step import PredictStep, TrainStep

__all__ = ['Runner', 'ConfigError', 'TrainStep', 'PredictStep', 'EpochBasedTrainLoop',
           'IterBasedTrainLoop', 'ValLoop', 'TestLoop']

# VGG-19 as MindCV trains it (configs/vgg/vgg19_ascend.yaml): 8 devices x 32
# images, 224x224 crops, 200 epochs, label smoothing 0.1.  MindCV's convolutions
# have no bias: its checkpoint converts with zero biases, which computes the same.
_base_ = [
    '../_base_/models/vgg19.py',
    '../_base_/datasets/imagenet_bs32_mindcv.py',
    '../_base_/schedules/imagenet_bs256_mindcv_vgg.py',
    '../_base_/default_runtime.py',
]

model = dict(
    head=dict(
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, num_classes=1000,
                  mode='original')),
)

"""One MindCV 0.3.0 measurement (run in a Python that has mindcv); prints a JSON line.

    python benchmarks/peers/mindcv_runner.py --model inception_v3 --task train

Graph mode: inference calls the Cell in GRAPH_MODE.  Training (SGD 0.9 by
``nn.Momentum``, weight decay 1e-4, CrossEntropy + 0.4 x the auxiliary loss for
InceptionV3) runs as one of:

- ``--trainer cell`` (default): ``nn.TrainOneStepCell`` over the loss Cell,
  the step MindCV's ``train.py`` runs (``mindspore.Model`` builds it when there
  is no EMA, clipping or dynamic loss scale);
- ``--trainer jit``: an ``ms.jit`` function of ``value_and_grad`` + optimizer,
  a common way to benchmark a MindSpore model.  On MindSpore 2.10 CPU it runs InceptionV3 training about 2x slower per step
  than the Cell (5.0 against 2.5 s at batch 8), so it understates MindCV.

oneDNN is capped at AVX2 as mmcls_ms does (otherwise MindSpore 2.10's
convolutions are ~100x slower on AVX-512 CPUs), so both MindSpore runs use the
same kernels.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SIZE, parse_args, time_and_report  # noqa: E402


def main():
    _, args = parse_args(('graph', 'pynative'), extra=lambda parser: parser.add_argument(
        '--trainer', choices=('cell', 'jit'), default='cell'))
    os.environ.setdefault('ONEDNN_MAX_CPU_ISA', 'AVX2')
    import numpy as np
    import mindspore as ms
    from mindspore import nn
    import mindcv

    ms.set_context(mode=ms.GRAPH_MODE if args.mode == 'graph' else ms.PYNATIVE_MODE)
    ms.set_seed(0)
    batch = args.batch
    size = SIZE[args.model]
    net = mindcv.create_model(args.model, num_classes=1000)
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((batch, 3, size, size), dtype=np.float32))
    y = ms.Tensor(rng.integers(0, 1000, (batch,)).astype(np.int32))
    if args.task == 'infer':
        net.set_train(False)

        def run():
            return net(x).asnumpy()
    else:
        net.set_train(True)
        criterion = nn.CrossEntropyLoss()
        optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.01, momentum=0.9,
                                weight_decay=1e-4)

        class LossCell(nn.Cell):
            def __init__(self):
                super().__init__()
                self.net = net

            def construct(self, inputs, labels):
                out = self.net(inputs)
                if isinstance(out, tuple):  # InceptionV3 in training: (logits, aux)
                    return criterion(out[0], labels) + 0.4 * criterion(out[1], labels)
                return criterion(out, labels)

        if args.trainer == 'cell':
            step = nn.TrainOneStepCell(LossCell(), optimizer)
            step.set_train(True)
        else:
            grad_fn = ms.value_and_grad(LossCell(), None, optimizer.parameters)

            def train_step(inputs, labels):
                loss, grads = grad_fn(inputs, labels)
                optimizer(grads)
                return loss

            step = ms.jit(train_step) if args.mode == 'graph' else train_step

        def run():
            return step(x, y).asnumpy()
    time_and_report(run, args, impl='mindcv', version=mindcv.__version__,
                    framework='mindspore ' + ms.__version__,
                    trainer=args.trainer if args.task == 'train' else None,
                    onednn_max_cpu_isa=os.environ.get('ONEDNN_MAX_CPU_ISA'))
    os._exit(0)  # skip MindSpore's noisy teardown


if __name__ == '__main__':
    main()

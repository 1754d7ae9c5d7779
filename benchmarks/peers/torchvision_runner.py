"""One torchvision measurement (run in a Python that has torch); prints a JSON line.

    python benchmarks/peers/torchvision_runner.py --model vgg16 --task infer --mode compile

``eager``: plain PyTorch, ``torch.inference_mode()`` for inference; training
is forward + CrossEntropy (+0.4 x aux for InceptionV3) + backward + SGD
(momentum 0.9, weight decay 1e-4).  ``compile``: ``torch.compile(model)``,
inference only.  Threads: one per core.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SIZE, parse_args, time_and_report  # noqa: E402


def main():
    parser, args = parse_args(('eager', 'compile'))
    if args.task == 'train' and args.mode == 'compile':
        parser.error('torch.compile is measured for inference only')
    import torch
    import torchvision

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    batch = args.batch
    size = SIZE[args.model]
    if args.model == 'inception_v3':
        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    else:
        net = torchvision.models.vgg16(weights=None)
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 1000, (batch,))
    if args.task == 'infer':
        net.eval()
        model = torch.compile(net) if args.mode == 'compile' else net

        def run():
            with torch.inference_mode():
                return model(x)
    else:
        net.train()
        criterion = torch.nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

        def run():
            optimizer.zero_grad(set_to_none=True)
            out = net(x)
            if isinstance(out, tuple):  # InceptionOutputs(logits, aux_logits)
                loss = criterion(out[0], y) + 0.4 * criterion(out[1], y)
            else:
                loss = criterion(out, y)
            loss.backward()
            optimizer.step()
            return loss.item()
    time_and_report(run, args, impl='torchvision', version=torchvision.__version__,
                    framework='torch ' + torch.__version__, threads=torch.get_num_threads())


if __name__ == '__main__':
    main()

"""Summarise an ``ONEDNN_VERBOSE=1`` log: time and GFLOP/s per kernel.

    ONEDNN_VERBOSE=1 python my_step.py > verbose.txt
    python benchmarks/onednn_verbose_summary.py verbose.txt [--last-fraction 0.5]

Groups executed primitives by (kind, implementation, propagation) - e.g.
``convolution x64:gemm:jit backward_data`` - and, for convolutions, adds the
FLOPs from the problem descriptor (2 x N x OC x OH x OW x IC/G x KH x KW), so
the achieved GFLOP/s of each implementation can be compared with the
machine's matmul peak.  Works for MindSpore's and PyTorch's bundled oneDNN.
``--last-fraction`` keeps only the last part of the log (the warm steps).
"""
import argparse
import collections
import re


def conv_flops(desc):
    """FLOPs of a oneDNN convolution problem descriptor such as
    ``mb8_ic3oc32_ih299oh149kh3sh2dh0ph0_iw299ow149kw3sw2dw0pw0``.

    Example:
        >>> conv_flops('mb1_ic2oc4_ih3oh3kh1sh1dh0ph0_iw3ow3kw1sw1dw0pw0')
        144
    """
    fields = dict(re.findall(r'([a-z]+)(\d+)', desc.replace('_', ' ')))
    height = int(fields['oh'])
    kh = int(fields['kh'])
    return (2 * int(fields['mb']) * int(fields['oc']) * height * int(fields.get('ow', height)) *
            int(fields['ic']) // int(fields.get('g', 1)) * kh * int(fields.get('kw', kh)))


def summarise(lines, last_fraction=1.0):
    execs = [ln.strip().split(',') for ln in lines
             if ln.startswith('onednn_verbose') and ',exec,' in ln]
    execs = execs[int(len(execs) * (1 - last_fraction)):]
    groups = collections.defaultdict(lambda: [0.0, 0, 0])  # ms, calls, flops
    for fields in execs:
        try:
            ms = float(fields[-1])
        except ValueError:
            continue
        i = fields.index('exec')
        key = (fields[i + 2], fields[i + 3], fields[i + 4])
        groups[key][0] += ms
        groups[key][1] += 1
        if fields[i + 2] == 'convolution':
            desc = next((f for f in fields if f.startswith('mb')), None)
            if desc:
                groups[key][2] += conv_flops(desc)
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('log')
    parser.add_argument('--last-fraction', type=float, default=1.0)
    parser.add_argument('--top', type=int, default=15)
    args = parser.parse_args()
    with open(args.log) as f:
        groups = summarise(f, args.last_fraction)
    total = sum(g[0] for g in groups.values()) or 1.0
    print(f'{"kind":22s} {"implementation":30s} {"propagation":18s} {"ms":>9s} {"share":>6s} '
          f'{"calls":>6s} {"GFLOP/s":>8s}')
    ranked = sorted(groups.items(), key=lambda kv: -kv[1][0])[:args.top]
    for (kind, impl, prop), (ms, calls, flops) in ranked:
        rate = f'{flops / ms / 1e6:8.1f}' if flops else ''
        print(f'{kind:22s} {impl:30s} {prop:18s} {ms:9.1f} {100 * ms / total:5.1f}% '
              f'{calls:6d} {rate:>8s}')
    conv = [g for k, g in groups.items() if k[0] == 'convolution']
    if conv:
        ms, flops = sum(g[0] for g in conv), sum(g[2] for g in conv)
        print(f'all convolutions: {ms:.0f} ms, {flops / 1e9:.1f} GFLOP, '
              f'{flops / ms / 1e6:.1f} GFLOP/s')


if __name__ == '__main__':
    main()

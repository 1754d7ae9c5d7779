"""docs/distributed.md, "Scaling, on paper": the table is what its script prints, and the
script's parameter and multiply-add counts are those of the configs' models."""
import contextlib
import io
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from doc_blocks import REPO_ROOT, read_blocks  # noqa: E402

DOC = 'docs/distributed.md'
SECTION = 'Scaling, on paper'
CONFIGS = {  # the script's model name: (config, input size)
    'VGG16': ('configs/vgg/vgg16_8xb32_in1k.py', 224),
    'InceptionV3': ('configs/inception_v3/inception-v3_8xb32_in1k.py', 299),
}


def _script():
    blocks = [b for b in read_blocks(DOC) if b.section == SECTION and b.lang == 'python']
    assert len(blocks) == 1, f'{DOC}: one runnable python block in "{SECTION}"'
    return blocks[0]


def _run_script():
    namespace, out = {}, io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_script().code, DOC, 'exec'), namespace)  # noqa: S102
    return namespace, out.getvalue().splitlines()


def test_table_is_what_the_script_prints():
    _, printed = _run_script()
    assert printed and printed[0].startswith('| model |')
    with open(osp.join(REPO_ROOT, DOC), encoding='utf-8') as f:
        lines = f.read().splitlines()
    start = lines.index(printed[0], _script().line)  # the table after the script
    assert lines[start:start + len(printed)] == printed, \
        f'{DOC}:{start + 1}: the table differs from what the script above it prints'


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_script_counts_match_the_models(name):
    import mindspore as ms

    from mmcls_ms.models.utils.complexity import count_complexity
    from mmcls_ms.registry import MODELS
    from mmcls_ms.utils.config import load_config

    namespace, _ = _run_script()
    params, macs = namespace['MODELS'][name]
    config, size = CONFIGS[name]
    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE)  # the counting hooks need PyNative
    try:
        model = MODELS.build(load_config(osp.join(REPO_ROOT, config)).model)
        report = count_complexity(model, (1, 3, size, size))
    finally:
        ms.set_context(mode=mode)
    assert report.trainable_params == params
    assert abs(report.total_flops - macs) / macs < 5e-4  # the script rounds to 4 digits

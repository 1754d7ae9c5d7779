"""Write the model-zoo table from the metafiles into README.md and docs/model_zoo.md.

    python tools/misc/gen_model_zoo_table.py           # rewrite the tables
    python tools/misc/gen_model_zoo_table.py --check   # exit 1 if a table is stale

The table goes between the lines ``<!-- model-zoo-table start -->`` and
``<!-- model-zoo-table end -->`` of each file; everything else is kept.  The
metafiles are the ones ``model-index.yml`` imports (the same list
``mmcls_ms.apis.list_models`` reads), so the table and the API never disagree.
"""
import argparse
import os.path as osp
import sys

import yaml

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
START = '<!-- model-zoo-table start -->'
END = '<!-- model-zoo-table end -->'
TARGETS = ('README.md', 'docs/model_zoo.md')

# where a weight URL comes from, by host
SOURCES = (
    ('download.openmmlab.com', 'mmpretrain'),
    ('download.mindspore.cn', 'MindCV'),
    ('download.pytorch.org', 'torchvision'),
)


def read_models(root=REPO_ROOT):
    """Every model of the metafiles that ``model-index.yml`` imports, in order.

    Example:
        >>> [m['Name'] for m in read_models()][:1]
        ['inception-v3_3rdparty_8xb32_in1k']
    """
    index_path = osp.join(root, 'model-index.yml')
    with open(index_path) as f:
        index = yaml.safe_load(f)
    models = []
    for metafile in index.get('Import', []):
        path = osp.join(root, metafile)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{index_path} imports {metafile}, which does not exist.')
        with open(path) as f:
            models.extend(yaml.safe_load(f).get('Models', []))
    return models


def source_of(url):
    for host, name in SOURCES:
        if host in (url or ''):
            return name
    return 'other'


def model_row(model):
    meta = model.get('Metadata', {})
    metrics = {}
    for result in model.get('Results') or []:
        if result.get('Task') == 'Image Classification':
            metrics = result.get('Metrics', {})
            break
    params = meta.get('Parameters')
    flops = meta.get('FLOPs')
    weights = model.get('Weights')
    origin = (model.get('Converted From') or {}).get('Weights')
    source = f'[{source_of(weights)}]({weights})' if weights else 'none'
    if origin and origin != weights:
        source += f' (from [{source_of(origin)}]({origin}))'
    config = model.get('Config', '')
    top1, top5 = metrics.get('Top 1 Accuracy'), metrics.get('Top 5 Accuracy')
    return ('| `{}` | {} | {} | {} | {} | [config]({}) | {} |'.format(
        model['Name'],
        f'{params / 1e6:.2f}' if params else '-',
        f'{flops / 1e9:.2f}' if flops else '-',
        f'{top1:.2f}' if top1 is not None else '-',
        f'{top5:.2f}' if top5 is not None else '-',
        config, source))


def make_table(models, link_prefix=''):
    """The Markdown table; ``link_prefix`` makes the config links relative to the file."""
    lines = ['| Model | Params (M) | FLOPs (G) | Top-1 (%) | Top-5 (%) | Config | Weights |',
             '|---|---:|---:|---:|---:|---|---|']
    for model in models:
        lines.append(model_row(model).replace('](configs/', f']({link_prefix}configs/'))
    lines.append('')
    lines.append('Params, FLOPs (224x224, 299x299 for InceptionV3) and the published '
                 'ImageNet-1k top-1/top-5 come from `configs/*/metafile.yml`; '
                 '`python tools/misc/gen_model_zoo_table.py` regenerates this table.')
    return '\n'.join(lines)


def replace_between_markers(text, table, path):
    if START not in text or END not in text:
        raise ValueError(f'{path}: add the lines {START!r} and {END!r} where the table goes.')
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f'{head}{START}\n{table}\n{END}{tail}'


def updated_files(root=REPO_ROOT):
    """``{relative path: (current text, text with the fresh table)}``."""
    models = read_models(root)
    out = {}
    for rel in TARGETS:
        path = osp.join(root, rel)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        prefix = '../' * rel.count('/')
        out[rel] = (text, replace_between_markers(text, make_table(models, prefix), path))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description='Model-zoo table from the metafiles')
    parser.add_argument('--check', action='store_true',
                        help='only check that the tables are current (exit 1 if not)')
    args = parser.parse_args(argv)
    stale = []
    for rel, (old, new) in updated_files().items():
        if old == new:
            continue
        if args.check:
            stale.append(rel)
        else:
            with open(osp.join(REPO_ROOT, rel), 'w', encoding='utf-8') as f:
                f.write(new)
            print(f'updated {rel}')
    if stale:
        print(f'The model-zoo table in {", ".join(stale)} is stale: run '
              '`python tools/misc/gen_model_zoo_table.py`.', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""No import in mmcls_ms runs upward or in a circle: every package imports only
from the layers below it, as the table in docs/design.md says."""
import ast
import os
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(REPO, 'mmcls_ms')
# register_all_modules imports every package that registers classes, by design
EXCEPTIONS = {'mmcls_ms.utils.setup_env'}


def layer_table():
    """{top-level name under mmcls_ms ('' for the package itself): layer}."""
    layers = {}
    with open(osp.join(REPO, 'docs', 'design.md')) as f:
        for line in f:
            row = re.match(r'\|\s*(\d+)\s*\|([^|]+)\|', line)
            if row:
                for name in re.findall(r'`([\w.]+)`', row.group(2)):
                    layers['' if name == 'mmcls_ms' else name] = int(row.group(1))
    return layers


def module_files():
    for root, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith('.py'):
                path = osp.join(root, name)
                module = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
                yield path, module.removesuffix('.__init__'), name == '__init__.py'


def imported_modules(path, module, is_package):
    """(line, absolute module name) of every mmcls_ms import in a file."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split('.')[:len(module.split('.')) - node.level + is_package]
                base = '.'.join(base + ([node.module] if node.module else []))
                # `from . import apis` imports the submodule apis
                names = [base] if node.module else [f'{base}.{a.name}' for a in node.names]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            if name == 'mmcls_ms' or name.startswith('mmcls_ms.'):
                yield node.lineno, name


def top_level(module):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def upward_imports(layers):
    found = []
    for path, module, is_package in module_files():
        if module in EXCEPTIONS:
            continue
        own = top_level(module)
        for line, target in imported_modules(path, module, is_package):
            other = top_level(target)
            if other == own:
                continue
            if own not in layers or other not in layers:
                found.append(f'{osp.relpath(path, REPO)}:{line}: {own or "mmcls_ms"} or '
                             f'{other or "mmcls_ms"} has no layer in docs/design.md')
            elif layers[other] >= layers[own]:
                found.append(f'{osp.relpath(path, REPO)}:{line}: {own or "mmcls_ms"} (layer '
                             f'{layers[own]}) imports {target} (layer {layers[other]})')
    return found


def test_every_package_has_a_layer():
    layers = layer_table()
    names = {top_level(module) for _, module, _ in module_files()}
    assert names - set(layers) == set(), 'add them to the table in docs/design.md'


def test_no_upward_or_circular_import():
    assert upward_imports(layer_table()) == []


def test_an_upward_import_is_found(tmp_path):
    # the check itself: moving weights above models makes models' import upward
    layers = dict(layer_table(), weights=layer_table()['models'] + 1)
    assert any('models (layer' in row and 'mmcls_ms.weights' in row
               for row in upward_imports(layers))

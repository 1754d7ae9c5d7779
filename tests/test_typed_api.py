"""The public API carries type hints: every public function and method of
mmcls_ms.apis, the registries' build helpers, the datasets and the transforms
annotates its parameters and its return (``__init__`` its parameters)."""
import ast
import os
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TYPED = ('mmcls_ms/apis', 'mmcls_ms/datasets', 'mmcls_ms/registry.py',
         'mmcls_ms/models/builder.py', 'mmcls_ms/engine/optimizers/builder.py',
         'mmcls_ms/tools_entry.py')
# protocol methods whose meaning Python fixes
EXEMPT = {'__len__', '__iter__', '__getitem__', '__repr__', '__str__', '__getattr__'}


def python_files():
    for item in TYPED:
        path = osp.join(REPO, item)
        if osp.isfile(path):
            yield path
        for root, _, files in os.walk(path):
            yield from (osp.join(root, f) for f in sorted(files) if f.endswith('.py'))


def untyped(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = []

    def visit(node, owner=''):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef) and not child.name.startswith('_'):
                visit(child, child.name + '.')
            elif isinstance(child, ast.FunctionDef):
                name = child.name
                if name in EXEMPT or (name.startswith('_') and name not in ('__init__',
                                                                           '__call__')):
                    continue
                args = child.args
                params = [a for a in args.posonlyargs + args.args + args.kwonlyargs
                          if a.arg not in ('self', 'cls') and a.annotation is None]
                where = f'{osp.relpath(path, REPO)}:{child.lineno} {owner}{name}'
                found.extend(f'{where}: parameter {a.arg}' for a in params)
                if child.returns is None and name != '__init__':
                    found.append(f'{where}: return')
    visit(tree)
    return found


def test_public_api_is_typed():
    missing = [row for path in python_files() for row in untyped(path)]
    assert missing == []


def test_the_check_finds_a_missing_hint(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text('def f(a: int, b):\n    return a\n\n\nclass C:\n'
                      '    def __init__(self, x: int):\n        pass\n\n'
                      '    def _private(self, y):\n        pass\n')
    assert [row.split(' ', 1)[1] for row in untyped(str(sample))] == [
        'f: parameter b', 'f: return']

"""The docs work as written: every runnable block of README.md and docs/*.md runs.

Default run: the blocks not marked ``slow`` (shrunk with MMCLS_MS_CFG_OPTIONS in
their markers), plus the README's train command.  ``pytest -m slow``: every
block.  Each document runs in its own temporary copy of the repository.
"""
import os
import os.path as osp
import re
import sys

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from doc_blocks import (REPO_ROOT, Block, MarkerError, copy_repo, doc_files,  # noqa: E402
                        read_blocks, run_block)

DOCS = doc_files()
# the README's quick-start training run, shrunk for the test: one epoch on the
# 355 val images (the docs explain MMCLS_MS_CFG_OPTIONS)
README_TRAIN_OPTIONS = 'train_cfg.max_epochs=1 train_dataloader.dataset.split=val'


def readme_train_block():
    """The train command of the README's "Two commands" (without its pip install:
    the test runs in an installed checkout, and CI runs the pip part as written)."""
    blocks = [b for b in read_blocks('README.md', runnable_only=False)
              if b.section == 'Two commands' and b.lang in ('bash', 'shell')]
    assert blocks, 'README.md: the "Two commands" section has no bash block'
    command = blocks[0].code.strip()
    prefix = 'pip install -e . && '
    assert command.startswith(prefix), f'README.md:{blocks[0].line}: {command!r}'
    return Block('README.md', blocks[0].line, 'bash', command[len(prefix):] + '\n',
                 env={'MMCLS_MS_CFG_OPTIONS': README_TRAIN_OPTIONS}, section='Two commands')


def blocks_to_run(doc, slow):
    blocks = read_blocks(doc)
    if doc == 'README.md':
        blocks = [readme_train_block()] + blocks
    return [b for b in blocks if slow or not b.slow]


def run_doc(doc, tmp_path, slow):
    blocks = blocks_to_run(doc, slow)
    if not blocks:
        has_slow = not slow and any(b.slow for b in read_blocks(doc))
        pytest.skip(f'{doc}: only slow runnable blocks' if has_slow
                    else f'{doc} has no runnable blocks')
    workdir = copy_repo(str(tmp_path / 'repo'))
    for block in blocks:
        run_block(block, workdir)


def test_markers_are_well_formed():
    total = 0
    for doc in DOCS:
        try:
            total += len(read_blocks(doc))
        except MarkerError as err:
            pytest.fail(str(err))
    assert total >= 10, f'only {total} runnable blocks in {DOCS}'


def test_marker_errors_name_the_line(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'bad.md').write_text('text\n<!-- runnable -->\n\n```bash\nls\n```\n')
    with pytest.raises(MarkerError, match=r'bad.md:2: a runnable marker must be on the line'):
        read_blocks('bad.md', root=str(tmp_path))
    (tmp_path / 'bad2.md').write_text('<!-- runnable fast -->\n```bash\nls\n```\n')
    with pytest.raises(MarkerError, match=r"unknown word 'fast'"):
        read_blocks('bad2.md', root=str(tmp_path))


def test_parser_reads_words_and_indented_blocks(tmp_path):
    (tmp_path / 'a.md').write_text(
        '# Title\n'
        '1. step\n\n'
        '   <!-- runnable slow MMCLS_MS_CFG_OPTIONS="a=1 b=2" -->\n'
        '   ```bash\n   echo hi\n   ```\n'
        '<!-- runnable file=configs/x.py -->\n```python\nx = 1\n```\n'
        '```python\nnot runnable\n```\n'
        '````markdown\n<!-- runnable -->\n```bash\nan example, not run\n```\n````\n')
    a, b = read_blocks('a.md', root=str(tmp_path))
    assert (a.slow, a.env, a.code, a.lang, a.line) == (
        True, {'MMCLS_MS_CFG_OPTIONS': 'a=1 b=2'}, 'echo hi\n', 'bash', 5)
    assert (b.slow, b.file, b.code) == (False, 'configs/x.py', 'x = 1\n')


def test_failing_block_reports_doc_line_and_output(tmp_path):
    block = Block('docs/x.md', 7, 'bash', 'echo before; python -c "import sys; sys.exit(3)"\n')
    with pytest.raises(AssertionError, match=r'(?s)docs/x.md:7: the block failed \(exit 3\)'
                                             r'.*before'):
        run_block(block, str(tmp_path))


def test_readme_keeps_two_commands():
    block = readme_train_block()
    assert block.code.strip() == 'python tools/train.py configs/vgg/vgg11bn-gap_1xb32_digits.py'
    tests = [b for b in read_blocks('README.md', runnable_only=False)
             if b.section == 'Two commands'][1]
    assert tests.code.strip() == 'pip install -e ".[tests]" && python -m pytest'


def test_default_set_covers_train_inference_finetune():
    """The minimum of the default run: README train, inference_model, a fine-tune."""
    default = [b for doc in DOCS for b in blocks_to_run(doc, slow=False)]
    code = ''.join(b.code for b in default)
    assert 'tools/train.py configs/vgg/vgg11bn-gap_1xb32_digits.py' in code
    assert 'inference_model(' in code
    assert any(b.doc == 'docs/finetune.md' and 'tools/train.py' in b.code for b in default)
    for b in default:  # every default training run is shrunk
        if 'tools/train.py' in b.code or 'dist_train.sh' in b.code:
            assert 'max_epochs=1' in b.env.get('MMCLS_MS_CFG_OPTIONS', ''), b.where


def test_docs_explain_the_env_override():
    for doc in ('docs/get_started.md', 'docs/config.md'):
        with open(osp.join(REPO_ROOT, doc), encoding='utf-8') as f:
            assert 'MMCLS_MS_CFG_OPTIONS' in f.read(), doc


def test_local_links_resolve():
    link = re.compile(r'\]\((?!https?://|#|mailto:)([^)\s#]+)')
    broken = []
    for doc in DOCS:
        with open(osp.join(REPO_ROOT, doc), encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                for target in link.findall(line):
                    path = osp.normpath(osp.join(REPO_ROOT, osp.dirname(doc), target))
                    if not osp.exists(path):
                        broken.append(f'{doc}:{lineno}: {target}')
    assert not broken, 'broken links:\n' + '\n'.join(broken)


def test_model_zoo_table_is_current():
    sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'misc'))
    from gen_model_zoo_table import read_models, updated_files
    stale = [rel for rel, (old, new) in updated_files().items() if old != new]
    assert not stale, (f'stale model-zoo table in {stale}: run '
                       '`python tools/misc/gen_model_zoo_table.py`')
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    for model in read_models():  # every zoo entry is listed, with its top-1
        assert f"`{model['Name']}`" in readme


def test_model_zoo_check_mode_fails_on_a_stale_table(tmp_path):
    import subprocess
    root = tmp_path / 'repo'
    root.mkdir()
    (root / 'docs').mkdir()
    for rel in ('model-index.yml', 'configs/vgg/metafile.yml',
                'configs/inception_v3/metafile.yml'):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(open(osp.join(REPO_ROOT, rel)).read())
    for rel in ('README.md', 'docs/model_zoo.md'):
        (root / rel).write_text('intro\n<!-- model-zoo-table start -->\nold\n'
                                '<!-- model-zoo-table end -->\nafter\n')
    (root / 'tools' / 'misc').mkdir(parents=True)
    script = root / 'tools' / 'misc' / 'gen_model_zoo_table.py'
    script.write_text(open(osp.join(REPO_ROOT, 'tools/misc/gen_model_zoo_table.py')).read())
    check = subprocess.run([sys.executable, str(script), '--check'], capture_output=True,
                           text=True)
    assert check.returncode == 1 and 'stale' in check.stderr
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True)
    text = (root / 'README.md').read_text()
    assert text.startswith('intro\n') and text.endswith('after\n') and 'old' not in text
    assert '| `vgg16_8xb32_in1k` | 138.36 | 15.50 | 71.62 |' in text
    assert subprocess.run([sys.executable, str(script), '--check']).returncode == 0


@pytest.mark.parametrize('doc', DOCS)
def test_doc_blocks_run(doc, tmp_path):
    run_doc(doc, tmp_path, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize('doc', DOCS)
def test_doc_blocks_run_all(doc, tmp_path):
    run_doc(doc, tmp_path, slow=True)


def test_env_override_reaches_the_config():
    """MMCLS_MS_CFG_OPTIONS, which the shrunk blocks rely on, changes the config."""
    import subprocess
    env = dict(os.environ, MMCLS_MS_CFG_OPTIONS='train_cfg.max_epochs=1 '
               'train_dataloader.dataset.split=val')
    code = ('from mmcls_ms.utils.config import env_cfg_options, load_config; '
            'cfg = load_config("configs/vgg/vgg11bn-gap_1xb32_digits.py", env_cfg_options()); '
            'print(cfg.train_cfg.max_epochs, cfg.train_dataloader.dataset.split)')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ['1', 'val'], out.stdout


TOOL = re.compile(r'((?:tools|demo)/[\w/.-]+\.(?:py|sh))')
# the shell wrappers forward their extra arguments to these scripts
FORWARDS = {'tools/dist_train.sh': 'tools/train.py', 'tools/dist_test.sh': 'tools/test.py'}


def command_problems(blocks):
    """Tools that a shell block calls but that do not exist, or options they lack."""
    problems = []
    for block in blocks:
        if block.lang not in ('bash', 'shell', 'sh', 'text', ''):
            continue
        for line in block.code.replace('\\\n', ' ').splitlines():
            match = TOOL.search(line)
            if not match or line.lstrip().startswith('#'):
                continue
            tool = match.group(1)
            if not osp.isfile(osp.join(REPO_ROOT, tool)):
                problems.append(f'{block.where}: {tool} does not exist')
                continue
            with open(osp.join(REPO_ROOT, FORWARDS.get(tool, tool))) as f:
                source = f.read()
            for flag in re.findall(r'\s(--[a-z][\w-]*)', line[match.end():]):
                if f"'{flag}'" not in source and f'"{flag}"' not in source:
                    problems.append(f'{block.where}: {tool} has no option {flag}')
    return problems


def test_documented_commands_exist():
    """Every tool a code block calls (runnable or not) exists and knows its --options."""
    problems = command_problems(b for doc in DOCS for b in read_blocks(doc, runnable_only=False))
    assert not problems, '\n'.join(problems)


def test_command_check_catches_drift():
    blocks = [Block('x.md', 1, 'bash', 'python tools/train.py CFG --amp \\\n    --no-such-flag\n'),
              Block('x.md', 5, 'bash', 'bash tools/dist_train.sh CFG 2 --resume\n'),
              Block('x.md', 9, 'bash', 'python tools/nope.py CFG\n')]
    assert command_problems(blocks) == [
        'x.md:1: tools/train.py has no option --no-such-flag',
        'x.md:9: tools/nope.py does not exist']

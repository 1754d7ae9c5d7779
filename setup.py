"""Build hook: ship configs/, tools/ and model-index.yml inside the package.

They go to ``mmcls_ms/.mim`` so that an installed mmcls_ms finds its configs and
model zoo without a checkout (the failure of mmpretrain issue #1885).  An
editable install links them; a wheel or sdist build copies them.
"""
import os
import shutil
import sys

from setuptools import setup

MIM_FILES = ('configs', 'tools', 'demo', 'model-index.yml')


def add_mim_extension():
    here = os.path.dirname(os.path.abspath(__file__))
    editable = any(arg in sys.argv for arg in ('develop', 'editable_wheel'))
    mim_dir = os.path.join(here, 'mmcls_ms', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = os.path.join(here, name)
        dst = os.path.join(mim_dir, name)
        if not os.path.exists(src):
            continue
        if os.path.islink(dst) or os.path.isfile(dst):
            os.remove(dst)
        elif os.path.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            os.symlink(os.path.relpath(src, mim_dir), dst)
        elif os.path.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup()

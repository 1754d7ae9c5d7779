"""Shared helpers for the model tests."""
import numpy as np
import pytest


@pytest.fixture
def graph_mode():
    """Run the test in GRAPH_MODE and restore PyNative afterwards."""
    import mindspore as ms
    previous = ms.get_context('mode')
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=previous)


@pytest.fixture
def images():
    """``images(n, size)``: a uint8 NCHW batch of smooth random images."""
    import mindspore as ms

    def make(batch=1, size=32, seed=0):
        rng = np.random.default_rng(seed)
        data = rng.integers(0, 256, (batch, 3, size, size), dtype=np.uint8)
        return ms.Tensor(data)
    return make

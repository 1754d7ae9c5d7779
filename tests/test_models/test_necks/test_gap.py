import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import GlobalAveragePooling


def test_pools_tuple_and_tensor():
    x = np.random.default_rng(0).random((2, 5, 3, 4), np.float32)
    gap = GlobalAveragePooling()
    (pooled,) = gap((ms.Tensor(x),))
    np.testing.assert_allclose(pooled.asnumpy(), x.mean(axis=(2, 3)), rtol=1e-6)
    assert gap(ms.Tensor(x)).shape == (2, 5)


def test_rejects_other_dims():
    with pytest.raises(ValueError, match='dim'):
        GlobalAveragePooling(dim=3)

import numpy as np
import pytest
import mindspore as ms

from mmcls_ms.models import ClsHead, CrossEntropyLoss, LinearClsHead


def _batch(seed=0, n=4, c=6):
    rng = np.random.default_rng(seed)
    return (ms.Tensor(rng.standard_normal((n, c)).astype(np.float32)),
            ms.Tensor(rng.integers(0, c, n).astype(np.int32)))


def test_cls_head_uses_last_output_and_predicts():
    logits, labels = _batch()
    head = ClsHead()
    assert head((logits,)) is not None and head((logits,)).shape == (4, 6)
    scores, pred = head.predict((logits,))
    np.testing.assert_allclose(scores.asnumpy().sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(pred.asnumpy(), logits.asnumpy().argmax(axis=1))
    assert pred.dtype == ms.int32 and scores.dtype == ms.float32


def test_aux_loss_weight_adds_weighted_aux_loss():
    main, labels = _batch(0)
    aux, _ = _batch(1)
    ce = CrossEntropyLoss()
    expected = float(ce(main, labels)) + 0.1 * float(ce(aux, labels))
    head = ClsHead(aux_loss_weight=0.1)
    assert float(head.loss((aux, main), labels)) == pytest.approx(expected, rel=1e-5)
    # without weight (mmpretrain's behaviour) the aux logits are ignored
    assert float(ClsHead().loss((aux, main), labels)) == pytest.approx(float(ce(main, labels)))
    # eval-mode backbones return only the logits: no aux term
    assert float(head.loss((main,), labels)) == pytest.approx(float(ce(main, labels)))


def test_linear_head_shapes_dropout_and_errors():
    feats = ms.Tensor(np.ones((3, 16), np.float32))
    head = LinearClsHead(num_classes=4, in_channels=16, dropout=0.5)
    names = [p.name for p in head.get_parameters()]
    assert names == ['fc.weight', 'fc.bias']
    head.set_train(False)
    a = head((feats,)).asnumpy()
    np.testing.assert_array_equal(a, head((feats,)).asnumpy())  # eval: no dropout
    head.set_train(True)
    ms.set_seed(0)
    b = head((feats,)).asnumpy()
    assert not np.allclose(a, b)  # training: dropout is active
    assert float(head.loss((feats,), ms.Tensor([0, 1, 2], ms.int32))) > 0
    with pytest.raises(ValueError, match='GlobalAveragePooling'):
        head((ms.Tensor(np.ones((3, 16, 2, 2), np.float32)),))
    with pytest.raises(ValueError, match='num_classes'):
        LinearClsHead(num_classes=0, in_channels=16)

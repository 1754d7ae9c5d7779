"""mmcls_ms.utils.cells: swapping sub-cells in place, parameter names kept."""
from mindspore import nn, ops

from mmcls_ms.utils.cells import replace_cells


class _Wrapped(nn.Cell):
    """Stores the old cell as a child: building it already re-prefixes its parameters."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def construct(self, x):
        return ops.relu(self.inner(x))


class _Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.body = nn.SequentialCell([nn.Conv2d(3, 4, 3), nn.Dropout(p=0.5), nn.Dense(4, 2)])
        self.head = nn.Dense(2, 2)


def test_swaps_attributes_and_sequential_children_keeping_names():
    net = _Net()
    names = sorted(p.name for p in net.get_parameters())
    count = replace_cells(net, lambda name, cell: _Wrapped(cell)
                          if isinstance(cell, (nn.Conv2d, nn.Dense)) else None)
    assert count == 3
    assert isinstance(net.body[0], _Wrapped) and isinstance(net.head, _Wrapped)
    assert isinstance(net.body[1], nn.Dropout)  # kept
    assert sorted(p.name for p in net.get_parameters()) == names

"""Swapping sub-cells of a MindSpore network in place, keeping parameter names.

Two MindSpore details make this more than ``setattr``: an ``nn.SequentialCell``
(or ``nn.CellList``) keeps its own list of children, so a child there is
replaced by index; and ``Cell.__setattr__`` re-prefixes the parameters of the
new child with the attribute name alone, so their full names are restored.
"""
import time

from mindspore import nn


def forget_compiled_graphs(net):
    """Make graph mode compile ``net`` again on its next call.

    MindSpore keys a Cell's compiled graph by the Cell's creation time and id
    (and the inputs), not by its structure: after sub-cells are swapped in place,
    a ``net`` already run in graph mode would keep running the old graph.  A new
    creation time gives it a new key.

    Example:
        >>> net.bn = nn.Identity(); forget_compiled_graphs(net)   # doctest: +SKIP
    """
    object.__setattr__(net, '_create_time', time.time_ns())


def replace_cells(net, replacement) -> int:
    """Swap, in place, each sub-cell for which ``replacement(full_name, cell)``
    returns a new cell (None: keep it).  Parameter names stay as they were.

    Returns the number of cells replaced.

    Example:
        >>> replace_cells(net, lambda name, cell: nn.Identity()
        ...               if isinstance(cell, nn.Dropout) else None)   # doctest: +SKIP
        2
    """
    # names before any swap: building the new cell may already re-prefix them
    # (a wrapper that stores the old cell as a child)
    names = {id(param): param.name for param in net.get_parameters()}
    replaced = 0
    for parent_name, parent in list(net.cells_and_names()):
        for child_name, child in list(parent.name_cells().items()):
            full_name = f'{parent_name}.{child_name}' if parent_name else child_name
            new = replacement(full_name, child)
            if new is None:
                continue
            if isinstance(parent, (nn.SequentialCell, nn.CellList)):
                parent[int(child_name)] = new  # also updates their cell list
            else:
                setattr(parent, child_name, new)
            for param in new.get_parameters():
                param.name = names.get(id(param), param.name)
            replaced += 1
    if replaced:
        forget_compiled_graphs(net)
    return replaced


def stock_type(cell) -> type:
    """The MindSpore class ``cell`` computes as: its own, or for a cell that stands
    in for another (the oneDNN backend's, :mod:`mmcls_ms.ops.backend`) the class of
    the ``stock_cell`` it replaced.  Answers "is this a convolution / a norm layer /
    a pool" without naming backend classes.

    Example:
        >>> stock_type(nn.ReLU()) is nn.ReLU
        True
    """
    return type(getattr(cell, 'stock_cell', cell))

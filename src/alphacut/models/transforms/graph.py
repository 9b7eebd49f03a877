"""Graph plumbing shared by the transforms: onnx on demand, node walks, dead-node removal, ordering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ...errors import BackendError, ModelError

if TYPE_CHECKING:
    import onnx


def _require_onnx() -> None:
    """Raise a BackendError that says how to install onnx when it is missing (a broken install)."""
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise BackendError("backend.missing-extra",
                           "Deriving a model needs the 'onnx' package, which is not installed.",
                           hint="It is one of alphacut's dependencies: `pip install 'onnx>=1.16,<2'` or "
                                "reinstall alphacut.") from exc


def _all_nodes(graph: onnx.GraphProto) -> Iterable[onnx.NodeProto]:
    """Every node of the graph and of its subgraphs (If/Loop bodies)."""
    import onnx
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    yield from _all_nodes(sub)

def _tensor_elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every top-level tensor, by ONNX type inference (not stored in the result)."""
    import onnx
    inferred = onnx.shape_inference.infer_shapes(model)
    types: dict[str, int] = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        if value.type.HasField("tensor_type"):
            types[value.name] = value.type.tensor_type.elem_type
    for init in model.graph.initializer:
        types[init.name] = init.data_type
    return types

def _remove_dead_nodes(graph: onnx.GraphProto) -> None:
    """Drop nodes and initializers nothing uses any more (the old constant size computations)."""
    producer = {name: i for i, node in enumerate(graph.node) for name in node.output}
    needed = {o.name for o in graph.output}
    live: set[int] = set()
    stack = list(needed)
    while stack:
        index = producer.get(stack.pop())
        if index is None or index in live:
            continue
        live.add(index)
        for name in _node_inputs(graph.node[index]):
            if name not in needed:
                needed.add(name)
                stack.append(name)
    keep = [node for i, node in enumerate(graph.node) if i in live]
    del graph.node[:]
    graph.node.extend(keep)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _node_inputs(node: onnx.NodeProto) -> set[str]:
    """The node's inputs and the outer-scope names its subgraphs read."""
    import onnx
    names = {i for i in node.input if i}
    for attr in node.attribute:
        subgraphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for sub in subgraphs:
            for inner in _all_nodes(sub):
                names.update(i for i in inner.input if i)
    return names


def _sort_topologically(graph: onnx.GraphProto) -> None:
    """Order nodes so each comes after its inputs' producers, keeping the old order where it can."""
    import heapq

    producer_index = {name: i for i, node in enumerate(graph.node) for name in node.output}
    waiting_on: list[int] = []
    dependents: dict[int, list[int]] = {}
    for i, node in enumerate(graph.node):
        deps = {producer_index[n] for n in _node_inputs(node) if n in producer_index} - {i}
        waiting_on.append(len(deps))
        for d in deps:
            dependents.setdefault(d, []).append(i)
    ready = [i for i, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in dependents.get(i, []):
            waiting_on[j] -= 1
            if waiting_on[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(graph.node):
        raise ModelError("model.transform-failed", "The transformed graph has a cycle.")
    nodes = [graph.node[i] for i in order]
    del graph.node[:]
    graph.node.extend(nodes)

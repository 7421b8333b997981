"""Finding the quantizable layers of a TF1-style graph and tracing their weights."""

import tensorflow as tf

from quantbridge.common import rules
from quantbridge.errors import ModelError

__all__ = ["SUPPORTED", "graph_of", "find_layers", "layer_ops", "trace_weight", "weight_layout"]

SUPPORTED = {op: rules.quantized(op) for op in ("Conv2D", "MatMul", "DepthwiseConv2dNative")}  # config_rules.json
SCOPE = "quantbridge"
VARIABLE_OPS = ("VariableV2", "Variable")


def graph_of(sess_or_graph):
    """The tf.Graph behind a Session, a Graph, or ``None`` (the default graph)."""
    if sess_or_graph is None:
        return tf.compat.v1.get_default_graph()
    if isinstance(sess_or_graph, tf.Graph):
        return sess_or_graph
    graph = getattr(sess_or_graph, "graph", None)
    if isinstance(graph, tf.Graph):
        return graph
    msg = f"expected a tf.compat.v1.Session or a tf.Graph, got {type(sess_or_graph).__name__}"
    raise ModelError(msg)


def _skipped(name):
    parts = name.split("/")
    return any(p.startswith("gradients") or p == SCOPE for p in parts)


def layer_ops(graph):
    """Ordered {name: Operation} of every Conv2D / MatMul / DepthwiseConv2dNative op of the model
    (ops under ``gradients*/`` scopes or QuantBridge's own scopes are skipped)."""
    return {op.name: op for op in graph.get_operations()
            if op.type in SUPPORTED and not _skipped(op.name)}


def find_layers(graph):
    """Ordered {name: op_type}."""
    return {name: op.type for name, op in layer_ops(graph).items()}


def trace_weight(op):
    """The variable op feeding ``op``'s second input (through Identity ops), or None.

    Returns ``(variable_op, kind)`` with kind ``"ref"`` (VariableV2) or ``"resource"`` (VarHandleOp).
    """
    tensor = op.inputs[1]
    for _ in range(64):
        src = tensor.op
        if src.type in VARIABLE_OPS:
            return src, "ref"
        if src.type == "ReadVariableOp":
            handle = src.inputs[0].op
            while handle.type == "Identity":
                handle = handle.inputs[0].op
            return (handle, "resource") if handle.type == "VarHandleOp" else None
        if src.type in ("Identity", "Snapshot"):
            tensor = src.inputs[0]
            continue
        return None
    return None


def weight_layout(op_type, op=None, transpose_b=None):
    """(reduce axes for per-channel absmax, channel axis for the parameter file).

    Conv2D filters are HWIO: channel axis 3. MatMul weights are [in, out] (axis 1), or [out, in]
    with ``transpose_b`` (axis 0). Depthwise filters are [h, w, in, mult]: the output channel is
    (in, mult), reduced over axes (0, 1); the parameter file says axis 2 when mult == 1 and
    ``channel_axes`` [2, 3] (in*mult scales, in-major) otherwise (``_params.weight_entry``).
    """
    if op_type == "Conv2D":
        return (0, 1, 2), 3
    if op_type == "DepthwiseConv2dNative":
        return (0, 1), 2
    if op_type == "MatMul":
        if transpose_b is None:
            transpose_b = bool(op.get_attr("transpose_b")) if op is not None else False
        return ((1,), 0) if transpose_b else ((0,), 1)
    msg = f"unsupported op type {op_type!r}; expected one of {sorted(SUPPORTED)}"
    raise ModelError(msg)

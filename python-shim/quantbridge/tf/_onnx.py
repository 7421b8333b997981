"""The float ONNX of a TensorFlow export: the frozen float graph converted by tf2onnx.

The float graph is the exported ``.pb`` without its activation fake quant: BatchNorm folded,
weights on their int8 grid, every op float. Java's QDQ builder turns it into the INT8 ONNX with
the parameter file, as it does for PyTorch's float ONNX. The ONNX inputs and outputs carry the
names the parameter file uses (``images``, ``logits``: the TF tensor names without ``:0``).

tf2onnx logs an op it cannot convert and goes on, leaving a node no runtime can run; here such an
op is a ``ModelError`` naming the op type and node, and nothing is returned.
"""

import contextlib
import logging
import re

from quantbridge.errors import ModelError

__all__ = ["OPSET", "float_graph", "to_onnx"]

OPSET = 13
_UNSUPPORTED = "is not supported"


def float_graph(gd, rewired, outputs):
    """A copy of the frozen ``gd`` whose quantized layers read ``rewired[layer]`` (their float input)
    instead of their activation fake quant; what only the fake quant used is dropped."""
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2

    out = graph_pb2.GraphDef()
    out.CopyFrom(gd)
    for node in out.node:
        if node.name in rewired:
            node.input[0] = rewired[node.name]
    return tf.compat.v1.graph_util.extract_sub_graph(out, list(outputs))


class _Collect(logging.Handler):
    """Keeps tf2onnx's error records (the unsupported ops among them) instead of printing them."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@contextlib.contextmanager
def _quiet_tf2onnx():
    """tf2onnx logs every step at INFO and its errors at ERROR; collect the errors, print nothing."""
    logger = logging.getLogger("tf2onnx")
    handler = _Collect()
    saved = (logger.level, logger.propagate, list(logger.handlers))
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.ERROR)
    try:
        yield handler
    finally:
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        logger.handlers = saved[2]


@contextlib.contextmanager
def _batchnorm_kept():
    """tf2onnx's BackToBackOptimizer folds a BatchNormalization into the Conv before it, into a new
    weight initializer off the int8 grid, so the quantized layer's weight is no longer found (a
    BatchNorm the export's fold leaves in the graph, e.g. after a dilated convolution, whose
    BatchToSpaceND sits between the two in TensorFlow). The float ONNX keeps it as its own node:
    the same numbers as the .pb, and ONNX Runtime fuses it into a float conv when it loads the model."""
    from tf2onnx.optimizer import back_to_back_optimizer as b2b
    key = ("Conv", "BatchNormalization")
    handler = b2b._func_map.pop(key, None)  # noqa: SLF001 - tf2onnx 1.14 (pinned) has no switch for it
    try:
        yield
    finally:
        if handler is not None:
            b2b._func_map[key] = handler  # noqa: SLF001


def _placeholders(gd):
    return [node.name for node in gd.node if node.op == "Placeholder"]


def _defaulted(gd):
    """The ``PlaceholderWithDefault`` ops of ``gd`` (inputs that may be fed) and, in a copy of
    ``gd``, each one whose default is computed from a model input (``zeros_like(images)``) made an
    ``Identity`` of that default: tf2onnx takes only a constant default (an ONNX input with an
    initializer of the same name, as optional as in the .pb) and refuses the rest, while the
    quantized session and the .pb compute it. Returns ``(graph, names of the optional inputs)``."""
    from tensorflow.core.framework import graph_pb2

    by_name = {node.name: node for node in gd.node}

    def fed(text):
        todo, seen = [text], set()
        while todo:
            name = todo.pop().lstrip("^").split(":")[0]
            if name in seen or name not in by_name:
                continue
            seen.add(name)
            if by_name[name].op in ("Placeholder", "PlaceholderWithDefault"):
                return True
            todo.extend(by_name[name].input)
        return False

    defaulted = [node for node in gd.node if node.op == "PlaceholderWithDefault"]
    computed = {node.name for node in defaulted if node.input and fed(node.input[0])}
    if not computed:
        return gd, [node.name for node in defaulted]
    out = graph_pb2.GraphDef()
    out.CopyFrom(gd)
    for node in out.node:
        if node.name in computed:
            dtype = node.attr["dtype"].type
            node.op = "Identity"
            for key in list(node.attr):
                del node.attr[key]
            node.attr["T"].type = dtype
    return out, [node.name for node in defaulted if node.name not in computed]


def _layouts(value):
    """The arrays tf2onnx may make of a TF weight for an ONNX Conv/MatMul/Gemm: a Conv2D filter
    HWIO as OIHW, a depthwise filter [h, w, in, mult] as [in*mult, 1, h, w], a MatMul weight as
    it is or transposed."""
    out = [value]
    if value.ndim == 4:
        h, w, cin, mult = value.shape
        out.append(value.transpose(3, 2, 0, 1))
        out.append(value.transpose(2, 3, 0, 1).reshape(cin * mult, 1, h, w))
    elif value.ndim == 2:
        out.append(value.T)
    return out


def _name_weights(model, weights):
    """Give each quantized layer's weight initializer the name ``<const>:0`` of its TF Const where
    tf2onnx folded it into a new one (a depthwise filter reshaped to ONNX's group-conv layout is
    named ``const_fold_opt__N``): found among the weight inputs of Conv/MatMul/Gemm nodes by equal
    values in one of the layouts tf2onnx makes. Java maps the parameter file by these names."""
    import numpy as np
    from onnx import numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    renames = {}
    for const, value in weights.items():
        target = f"{const}:0"
        if target in inits:
            continue
        candidates = _layouts(np.asarray(value, dtype=np.float32))
        for node in model.graph.node:
            if node.op_type not in ("Conv", "MatMul", "Gemm") or len(node.input) < 2:
                continue
            name = node.input[1]
            if name not in inits or name in renames or name.endswith(":0"):
                continue
            array = numpy_helper.to_array(inits[name])
            if any(c.shape == array.shape and np.array_equal(c, array) for c in candidates):
                renames[name] = target
                break
    for old, new in renames.items():
        inits[old].name = new
        for node in model.graph.node:
            for i, text in enumerate(node.input):
                if text == old:
                    node.input[i] = new


def _gemms(model, matmuls):
    """Fuse each ``MatMul(a, W) -> Add(., b)`` that tf2onnx makes of a TF ``MatMul`` (rank 2, named
    in ``matmuls``) and its ``BiasAdd`` into ``Gemm(a, W, b)``, named and producing as the Add did:
    ONNX Runtime's quantized ``Gemm`` (``QGemm``) takes the bias, which an Add after a MatMul
    cannot be. The same float arithmetic (ONNX Runtime fuses the pair into a Gemm itself)."""
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    readers = {}
    for node in graph.node:
        for text in node.input:
            readers.setdefault(text, []).append(node)
    outputs = {o.name for o in graph.output}
    fused, drop = {}, set()
    for node in graph.node:
        if node.op_type != "MatMul" or node.name not in matmuls or len(node.input) != 2:
            continue
        weight = inits.get(node.input[1])
        users = readers.get(node.output[0], [])
        if weight is None or len(weight.dims) != 2 or len(users) != 1 or node.output[0] in outputs:
            continue
        add = users[0]
        if add.op_type != "Add" or len(add.input) != 2:
            continue
        bias = add.input[1] if add.input[0] == node.output[0] else add.input[0]
        b = inits.get(bias)
        if b is None or list(b.dims) != [weight.dims[1]] or b.data_type != weight.data_type:
            continue
        from onnx import helper
        fused[add.name] = helper.make_node("Gemm", [node.input[0], node.input[1], bias], list(add.output),
                                           name=add.name)
        drop.add(node.name)
    if not fused:
        return
    nodes = [fused.get(n.name, n) for n in graph.node if n.name not in drop]
    del graph.node[:]
    graph.node.extend(nodes)


_MADE = re.compile(r"^(.*)__(\d+)$")


def _canonical_names(model, tf_names):
    """Renumber the names tf2onnx made (``<base>__<n>``, from a process-wide counter and, for
    folded constants, an order that varies from run to run) by first use in node order, and sort
    the initializers by name: the same graph gives the same bytes. Names of the TF graph
    (``tf_names``) are never touched; a graph with subgraphs (If, Loop) is left as it is."""
    graph = model.graph
    if any(a.g.ByteSize() or len(a.graphs) for n in graph.node for a in n.attribute):
        return

    def split(text):
        name, sep, port = text.rpartition(":")
        return (name, sep + port) if sep and port.isdigit() else (text, "")

    used = [n.name for n in graph.node] + [t for n in graph.node for t in list(n.input) + list(n.output)]
    used += [t.name for t in graph.initializer]
    made = []
    for text in used:
        base = split(text)[0]
        if _MADE.match(base) and base not in made and base not in tf_names:
            made.append(base)
    keep = {split(t)[0] for t in used} - set(made)
    renames = {}
    counter = 0
    for old in made:
        stem = _MADE.match(old).group(1)
        counter += 1
        while f"{stem}__{counter}" in keep:
            counter += 1
        renames[old] = f"{stem}__{counter}"

    def rename(text):
        base, port = split(text)
        return renames[base] + port if base in renames else text

    for node in graph.node:
        node.name = rename(node.name)
        node.input[:] = [rename(t) for t in node.input]
        node.output[:] = [rename(t) for t in node.output]
    for items in (graph.initializer, graph.value_info, graph.input, graph.output):
        for item in items:
            item.name = rename(item.name)
    inits = sorted(graph.initializer, key=lambda t: t.name)
    copies = [type(t)() for t in inits]
    for copy, t in zip(copies, inits):
        copy.CopyFrom(t)
    del graph.initializer[:]
    graph.initializer.extend(copies)


def to_onnx(gd, outputs, weights=None, what="the float graph"):
    """Convert the frozen GraphDef ``gd`` to ONNX (opset 13); returns the serialized ModelProto.

    Inputs are its ``Placeholder`` ops, outputs the nodes ``outputs`` (port 0); both are renamed to
    the plain node names, as is each ``PlaceholderWithDefault`` with a constant default (an
    optional ONNX input: an initializer of the same name holds the default); one whose default is
    computed from an input computes it (see ``_defaulted``). A TF ``MatMul`` with its bias becomes
    one ``Gemm`` (``_gemms``). ``weights`` maps the Const names of the quantized layers' weights to their
    values: each keeps the initializer name ``<const>:0`` (see ``_name_weights``). Raises
    ``ModelError`` naming the first op tf2onnx cannot convert.
    """
    try:
        import tf2onnx
    except ImportError as exc:  # the pinned stack has it; a hand-made environment may not
        msg = ("exporting a TensorFlow model to ONNX needs tf2onnx (pinned in python-shim/requirements.lock): "
               f"{exc}; run ./quantbridge setup")
        raise ModuleNotFoundError(msg) from exc
    inputs = _placeholders(gd)
    if not inputs:
        msg = f"{what} has no Placeholder input on the path to {list(outputs)}; expected at least one model input"
        raise ModelError(msg)
    gd, optional = _defaulted(gd)
    rename = {f"{name}:0": name for name in inputs + optional + list(outputs)}
    # tf2onnx numbers the nodes it makes with a process-wide counter: start it afresh, so the same
    # graph gives the same bytes whatever was converted before in this process
    tf2onnx.utils.INTERNAL_NAME = 1
    with _quiet_tf2onnx() as log, _batchnorm_kept():
        try:
            model, _ = tf2onnx.convert.from_graph_def(gd, input_names=[f"{n}:0" for n in inputs],
                                                      output_names=[f"{n}:0" for n in outputs], opset=OPSET,
                                                      tensors_to_rename=rename)
        except Exception as exc:  # noqa: BLE001 - any converter failure is a model tf2onnx cannot take
            msg = f"tf2onnx cannot convert {what} to ONNX opset {OPSET}: {type(exc).__name__}: {exc}"
            raise ModelError(msg) from exc
    ops = [tuple(r.args) for r in log.records
           if r.msg.startswith("Tensorflow op") and _UNSUPPORTED in r.msg and len(r.args or ()) == 2]
    if ops:
        (node, op), more = ops[0], len({o for _, o in ops}) - 1
        others = f" (and {more} other op type(s): {sorted({o for _, o in ops} - {op})})" if more else ""
        msg = (f"tf2onnx cannot convert {what} to ONNX opset {OPSET}: op {op!r} (node {node!r}) has no "
               f"conversion in tf2onnx 1.14{others}; expected only ops it converts (the whole graph to the "
               f"outputs is converted, float layers included)")
        raise ModelError(msg)
    _gemms(model, {node.name for node in gd.node if node.op == "MatMul"})
    _name_weights(model, weights or {})
    _canonical_names(model, {node.name for node in gd.node} | set(rename.values()))
    return model.SerializeToString()

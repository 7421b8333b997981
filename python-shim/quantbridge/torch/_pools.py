"""Global average pooling between a derived point and the quantized layer reading the pooled
value (a classifier's ``avgpool -> flatten -> fc``), in eval mode and at export.

ONNX Runtime runs ``DequantizeLinear -> GlobalAveragePool -> QuantizeLinear`` as
``QLinearGlobalAveragePool``, whose integer arithmetic rounds differently from the float mean
near ties (``_integer.global_pool``). The pooled tensor's point (``Point.pool_of``) has no hook of
its own: the hook of the pooled point hands its quantized tensor to :func:`feed`, which computes
the deployed pooling, and the reading layer's forward pre-hook (:func:`pooled_input`) takes it in
place of the float mean. At export, :func:`output_tensors` finds the pooling's output tensor in the ONNX
graph (a functional pooling has no module call to mark).
"""

import torch

from quantbridge.torch import _integer, _layers, _points

__all__ = ["PoolState", "attach", "feed", "pooled_input", "output_tensors", "detach"]

POOLS_ATTR = "_quantbridge_pools"
POOL_READER_ATTR = "_quantbridge_pool_reader"


def attach(root, points, modules, layers_by_name):
    """Wire each pooling point of ``points`` in the quant model ``root``: a :class:`PoolState` fed
    by its pooled point's call, taken by its reading layer's pre-hook."""
    canonical = {p.name: p for p in points if p.mirror_of is None}
    for p in points:
        source = canonical.get(p.pool_of) if p.pool_of is not None else None
        reader = modules.get(p.consumers[0]) if p.consumers else None
        if source is None or source.call is None or reader is None or not _layers.is_quant_layer(reader):
            continue
        path, index = source.call
        state = PoolState(_points.quantizer_for(root, source, layers_by_name), reader.activation_quant,
                          _points._activity(p, modules))
        modules[path].__dict__.setdefault(POOLS_ATTR, {}).setdefault(index, []).append(state)
        reader.__dict__[POOL_READER_ATTR] = state
        if not any(h is pooled_input for h in reader._forward_pre_hooks.values()):
            reader.register_forward_pre_hook(pooled_input)


class PoolState:
    """The integer global average pooling of one point (``in_q``'s grid) into the input grid of
    the quantized layer reading the pooled value (``out_q``): the point's forward hook stores the
    deployed result (:func:`feed`), the reading layer's pre-hook takes it (:func:`pooled_input`)."""

    __slots__ = ("in_q", "out_q", "activity", "result")

    def __init__(self, in_q, out_q, activity):
        self.in_q, self.out_q, self.activity, self.result = in_q, out_q, activity, None

    def __getstate__(self):
        return {"in_q": self.in_q, "out_q": self.out_q, "activity": self.activity}

    def __setstate__(self, state):
        self.in_q, self.out_q, self.activity, self.result = state["in_q"], state["out_q"], state["activity"], None


def feed(module, key, x):
    """Give the pooling(s) of the point at this call of ``module`` the quantized tensor ``x`` (or
    None when the point is not applied): each computes ONNX Runtime's integer pooling of it."""
    states = module.__dict__.get(POOLS_ATTR, {}).get(key, ())
    if not states:
        return
    for state in states:
        pooled = None
        if x is not None and torch.is_tensor(x) and _points.is_active(state.activity):
            pooled = _integer.global_pool(x, state.in_q, state.out_q)
        state.result = None if pooled is None else (x.detach().mean(dim=(2, 3), keepdim=True), pooled)


def pooled_input(module, inputs):
    """Forward pre-hook of a quantized layer reading a global average pooling of a point: its
    input (the float mean, possibly flattened) becomes ONNX Runtime's integer pooling result,
    which is on the layer's input grid, when the values match the tensor the point's hook pooled."""
    state = module.__dict__.get(POOL_READER_ATTR)
    if state is None or state.result is None or not inputs or not torch.is_tensor(inputs[0]):
        return None
    (mean, pooled), state.result = state.result, None
    x = inputs[0]
    if x.numel() != pooled.numel() or x.dtype != pooled.dtype:
        return None
    tol = 1e-5 * float(mean.abs().max()) + 1e-12
    if not torch.allclose(x.detach().reshape(mean.shape), mean, rtol=1e-5, atol=tol):
        return None             # not the pooled point's value (a changed forward): the float path
    return (pooled.reshape(x.shape),) + tuple(inputs[1:])


def output_tensors(model_proto, points, tensors):
    """Add to ``tensors`` (``{point index: tensor name}``) the ONNX tensor of each pooling output
    point: the output of the one GlobalAveragePool node reading its input point's tensor."""
    index = {p.name: i for i, p in enumerate(points)}
    for i, p in enumerate(points):
        source = tensors.get(index.get(p.pool_of)) if p.pool_of is not None else None
        if source is None:
            continue
        found = [n for n in model_proto.graph.node if n.op_type == "GlobalAveragePool" and n.input[:1] == [source]]
        if len(found) == 1:
            tensors[i] = found[0].output[0]
    return tensors


def detach(root):
    """Remove the pooling hooks and states from ``root``'s modules."""
    for module in root.modules():
        for handle_id, hook in list(module._forward_pre_hooks.items()):
            if hook is pooled_input:
                del module._forward_pre_hooks[handle_id]
        for attr in (POOLS_ATTR, POOL_READER_ATTR):
            module.__dict__.pop(attr, None)

"""Derived quantization points: the tensors integer kernels need quantized, besides layer inputs.

ONNX Runtime runs a quantized conv or matmul in integer (``QLinearConv``, ``QGemm``,
``QLinearMatMul``) only when its output is quantized too, and a residual ``Add`` in integer
(``QLinearAdd``) only when both inputs and its output are. The vendor config quantizes layer
inputs only; the points here are derived from the model's data flow, never asked of the user:

* the output of every ``Quant_INT8-8`` conv/linear *group*: the layer, then a BatchNorm that
  reads only it (folded at export), then ReLU / ReLU6 (``nn`` modules or ``F.relu``,
  ``torch.relu``, ``F.relu6``), which the range absorbs (a range from 0 has its zero point at
  the bottom, so ONNX Runtime drops the ReLU). A functional ReLU whose output no module returns
  cannot be hooked: the point then sits before it and the ReLU runs on dequantized values;
* both inputs and the (ReLU-absorbed) output of a tensor ``+`` whose two inputs are points;
* through value-transparent ops that commute with quantization (MaxPool, Flatten, reshape/view,
  Identity, Dropout), a point moves to the end of a single-consumer chain; the upstream tensors
  get the same parameters in the ONNX graph only (``mirror`` points), which is exact because
  ``fq(maxpool(x)) == maxpool(fq(x))``.

A point is left out when it would quantize a model output. Not covered (the tensor stays float
and the neighbouring ops run in float on dequantized values, still exact): ``torch.cat``,
average pooling, elementwise ops other than ``+``, a ``+`` with a float (non-point) input.

Each point has one quantizer, an :class:`ActivationFakeQuantize` like the layer-input
quantizers: when a quantized layer reads the point's tensor, that layer's own input quantizer
(the *owner*; a tensor read by several quantized layers takes the first one's); otherwise a new
one, a child of the root module ``quantbridge_points`` named after the traced node, so it is in
the quant model's ``state_dict``, calibrated and learned with the others. The quantizer is
applied to the tensor itself by a forward hook on a module call that returns it, so every
consumer sees the quantized tensor in PyTorch as in the ONNX graph; a point whose tensor only
its owner layer reads needs no hook (the layer quantizes it). Points are found with
``torch.fx`` symbolic tracing of the float model; an untraceable model gets none (its layers
keep input-only quantization, with a warning).
"""

import collections
import operator
import warnings

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from quantbridge.torch import _layers
from quantbridge.torch._modules import ActivationFakeQuantize

__all__ = ["CONTAINER", "Point", "derive", "attach", "add_markers", "strip_markers", "points_of"]

CONTAINER = "quantbridge_points"
MARK_DOMAIN = "quantbridge"
MARK_OP = "Point"
POINTS_ATTR = "_quantbridge_point_specs"

_BN = (nn.BatchNorm1d, nn.BatchNorm2d)
_ACT_MODULES = (nn.ReLU, nn.ReLU6)
_ACT_FUNCS = {F.relu, torch.relu, F.relu6}
_TRANSPARENT_MODULES = (nn.MaxPool1d, nn.MaxPool2d, nn.Flatten, nn.Identity, nn.Dropout)
_TRANSPARENT_FUNCS = {torch.flatten, F.max_pool2d, F.max_pool1d, torch.reshape, F.dropout}
_TRANSPARENT_METHODS = {"view", "reshape", "flatten"}
_ADDS = {operator.add, operator.iadd, torch.add}


class Point:
    """One derived quantization point.

    ``name``: the traced node's name (and the derived quantizer's key); ``owner``: the config
    name of the layer whose input quantizer serves it, or None for its own quantizer; ``call``:
    ``(module path, call index)`` whose output is the tensor (None: no module returns it);
    ``hook``: whether PyTorch applies it (False for mirror points and points read only by their
    owner); ``mirror_of``: the name of the canonical point a mirror copies.
    """

    __slots__ = ("name", "owner", "call", "hook", "mirror_of")

    def __init__(self, name, owner, call, hook, mirror_of=None):
        self.name, self.owner, self.call, self.hook, self.mirror_of = name, owner, call, hook, mirror_of

    def __repr__(self):
        return (f"Point({self.name!r}, owner={self.owner!r}, call={self.call!r}, hook={self.hook}, "
                f"mirror_of={self.mirror_of!r})")


class _Tracer(torch.fx.Tracer):
    """fx tracer that records, for each traced value, the module calls that returned it."""

    def __init__(self, leaves):
        super().__init__()
        self._leaves = leaves
        self.returned = collections.defaultdict(list)
        self.calls = collections.Counter()

    def is_leaf_module(self, m, qualname):
        return id(m) in self._leaves or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        index = self.calls[path]
        self.calls[path] += 1
        out = super().call_module(m, forward, args, kwargs)
        if isinstance(out, torch.fx.Proxy):
            self.returned[out.node].append((path, index))
        return out


def _is_act(node, modules):
    if node.op == "call_module":
        return isinstance(modules.get(node.target), _ACT_MODULES)
    if node.op == "call_function" and node.target in _ACT_FUNCS:
        return True
    return node.op == "call_function" and node.target is F.hardtanh and \
        tuple(node.args[1:3]) == (0.0, 6.0)


def _is_transparent(node, modules):
    if node.op == "call_module":
        return isinstance(modules.get(node.target), _TRANSPARENT_MODULES)
    if node.op == "call_function":
        return node.target in _TRANSPARENT_FUNCS
    return node.op == "call_method" and node.target in _TRANSPARENT_METHODS


def _tensor_args(node):
    return [a for a in node.args if isinstance(a, torch.fx.Node)]


def _single_user(node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _absorb(node, modules, first_bn):
    """The end of ``node``'s group: an optional BatchNorm (if ``first_bn``), then an optional activation."""
    end = node
    user = _single_user(end)
    if first_bn and user is not None and user.op == "call_module" and isinstance(modules.get(user.target), _BN):
        end, user = user, _single_user(user)
    if user is not None and _is_act(user, modules) and _tensor_args(user)[:1] == [end]:
        end = user
    return end


def _chain(node, modules):
    """``[node, ...]`` down single-consumer value-transparent ops; the last is the canonical tensor."""
    chain = [node]
    while True:
        user = _single_user(chain[-1])
        if user is None or not _is_transparent(user, modules) or _tensor_args(user)[:1] != [chain[-1]]:
            return chain
        chain.append(user)


def trace(model):
    """``(fx graph, tracer)`` of ``model`` with its quantizable layers as leaves; None if it cannot be traced."""
    leaves = {id(m) for _, (_, m) in _layers.find_layers(model).items()}
    tracer = _Tracer(leaves)
    try:
        graph = tracer.trace(model)
    except Exception as exc:   # user models may have data-dependent control flow
        warnings.warn(f"integer-kernel quantization points skipped: torch.fx cannot trace the model "
                      f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); quantized layers keep "
                      f"input-only quantization and run in float in ONNX Runtime", stacklevel=4)
        return None
    return graph, tracer


def derive(model, quantized):
    """The derived points of ``model`` (the float model) for the quantized layers ``quantized``
    (``{module path: layer name}``), in graph order; [] for an untraceable model."""
    traced = trace(model)
    if traced is None:
        return []
    graph, tracer = traced
    modules = dict(model.named_modules())
    nodes = list(graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    marked = set()         # nodes whose value is a point (canonical or mirror)

    def mark(node):
        if _is_act(node, modules) and not tracer.returned.get(node) and _single_user(node) is not None:
            # a functional ReLU that no module returns: the point goes before it (ReLU stays float)
            source = _tensor_args(node)[:1]
            if source and tracer.returned.get(source[0]) and len(source[0].users) == 1:
                node = source[0]
        if any(u.op == "output" for u in node.users):
            return False
        chain = _chain(node, modules)
        if any(u.op == "output" for u in chain[-1].users):
            return False
        marked.update(chain)
        return True

    for node in nodes:
        if node.op == "call_module" and node.target in quantized:
            mark(_absorb(node, modules, first_bn=True))
        elif node.op == "call_function" and node.target in _ADDS and len(node.args) == 2 and not node.kwargs:
            args = _tensor_args(node)
            if len(args) == 2 and all(a in marked for a in args):
                mark(_absorb(node, modules, first_bn=False))

    points = []
    for node in nodes:
        if node not in marked:
            continue
        chain = _chain(node, modules)
        if len(chain) > 1 and node is not chain[-1]:
            continue            # a mirror: emitted with its canonical tensor below
        canonical = chain[-1]
        readers = sorted((u for u in canonical.users if u.op == "call_module" and u.target in quantized),
                         key=order.get)
        owner = quantized[readers[0].target] if readers else None
        needs_hook = any(not (u.op == "call_module" and u.target == (readers[0].target if readers else None))
                         for u in canonical.users)
        call = _choose_call(tracer, canonical)
        if call is None:
            continue            # no module returns the tensor: it stays float (so do its mirrors)
        # the mirrors: every tensor up the transparent chain that ends here
        up = [canonical]
        while True:
            prev = _tensor_args(up[-1])[:1]
            if not prev or prev[0] not in marked or _chain(prev[0], modules)[-1] is not canonical:
                break
            up.append(prev[0])
        for mirror in reversed(up[1:]):
            mcall = _choose_call(tracer, mirror)
            if mcall is not None:
                points.append(Point(mirror.name, owner, mcall, False, mirror_of=canonical.name))
        points.append(Point(canonical.name, owner, call, needs_hook))
    return points


def _choose_call(tracer, node):
    """``(module path, call index)`` of a module call returning ``node``'s value, preferring a module
    called once per forward pass (index None: every call); None if no module returns it."""
    calls = tracer.returned.get(node, [])
    for path, _ in calls:
        if tracer.calls[path] == 1:
            return path, None
    return calls[0] if calls else None


def points_of(model):
    """The points attached to ``model`` (a quant model), [] if none."""
    return list(getattr(model, POINTS_ATTR, []) or [])


def quantizer_for(root, point, layers_by_name):
    """The :class:`ActivationFakeQuantize` serving ``point`` in the quant model ``root``."""
    if point.owner is not None:
        return layers_by_name[point.owner].activation_quant
    return getattr(root, CONTAINER)[point.name]


def attach(root, points, calibration, steps):
    """Create the derived quantizers under ``root.quantbridge_points`` and the forward hooks that apply them."""
    setattr(root, POINTS_ATTR, list(points))
    own = [p for p in points if p.owner is None and p.mirror_of is None]
    if not own and not any(p.hook for p in points):
        return
    container = nn.ModuleDict()
    for p in own:
        q = ActivationFakeQuantize(calibration["method"], calibration["percentile"], calibration["bins"],
                                   range_max=calibration.get("range_max"))
        q._steps = steps
        container[p.name] = q
    if own:
        root.add_module(CONTAINER, container.to(_device(root)))
    layers_by_name = {name: m for name, (_, m) in _layers.find_layers(root).items()}
    modules = dict(root.named_modules())
    for p in points:
        if not p.hook:
            continue
        path, index = p.call
        module = modules[path]
        table = module.__dict__.setdefault("_quantbridge_apply", {})
        table[index] = quantizer_for(root, p, layers_by_name)
        module.__dict__["_quantbridge_apply_steps"] = steps
        if not any(h is apply_point for h in module._forward_hooks.values()):
            module.register_forward_hook(apply_point)


def _device(root):
    return next((t.device for t in root.parameters()), torch.device("cpu"))


def apply_point(module, inputs, output):
    """Forward hook: quantize the output of this call of ``module`` if a point sits there.

    A module-level function, so the hook pickles and deep-copies with the model; the calls of a
    module are counted per forward pass of the quant model's root.
    """
    table = module.__dict__.get("_quantbridge_apply")
    if not table or not torch.is_tensor(output):
        return None
    quantizer = table.get(None)
    if quantizer is None:
        steps = module.__dict__.get("_quantbridge_apply_steps")
        step = None if steps is None else steps.value
        seen = module.__dict__.get("_quantbridge_apply_seen")
        count = seen[1] + 1 if seen is not None and seen[0] == step else 0
        module.__dict__["_quantbridge_apply_seen"] = (step, count)
        quantizer = table.get(count)
    return None if quantizer is None else quantizer(output)


# ---- export: marking the points' tensors in the ONNX graph --------------------------------------

class _Mark(torch.autograd.Function):
    """Identity whose ONNX export is a ``quantbridge::Point`` node carrying the point's index."""

    @staticmethod
    def forward(ctx, x, index):
        return x.clone()

    @staticmethod
    def symbolic(g, x, index):
        out = g.op(f"{MARK_DOMAIN}::{MARK_OP}", x, index_i=index)
        out.setType(x.type())
        return out


def add_markers(float_model, points):
    """Forward hooks on ``float_model`` marking each point's tensor for the ONNX export; returns the handles."""
    modules = dict(float_model.named_modules())
    by_module = collections.defaultdict(dict)
    for i, p in enumerate(points):
        path, index = p.call
        by_module[path][index] = i
    counters = {path: [0] for path in by_module}

    def reset(module, inputs):
        for counter in counters.values():
            counter[0] = 0

    handles = [float_model.register_forward_pre_hook(reset)]
    for path, table in by_module.items():
        def hook(module, inputs, output, table=table, counter=counters[path]):
            index = table.get(None, table.get(counter[0]))
            counter[0] += 1
            if index is None or not torch.is_tensor(output):
                return None
            return _Mark.apply(output, index)

        handles.append(modules[path].register_forward_hook(hook))
    return handles


def strip_markers(model_proto):
    """Remove the ``quantbridge::Point`` nodes (their consumers read the marked tensor directly);
    return ``{point index: tensor name}``."""
    found = {}
    rename = {}
    keep = []
    for node in model_proto.graph.node:
        if node.domain == MARK_DOMAIN and node.op_type == MARK_OP:
            index = next(a.i for a in node.attribute if a.name == "index")
            source = rename.get(node.input[0], node.input[0])
            found[index] = source
            rename[node.output[0]] = source
        else:
            keep.append(node)
    for node in keep:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for out in model_proto.graph.output:
        if out.name in rename:
            msg = f"internal: a quantization point marks the model output {out.name!r}"
            raise RuntimeError(msg)
    del model_proto.graph.node[:]
    model_proto.graph.node.extend(keep)
    imports = [o for o in model_proto.opset_import if o.domain != MARK_DOMAIN]
    del model_proto.opset_import[:]
    model_proto.opset_import.extend(imports)
    infos = [v for v in model_proto.graph.value_info if v.name not in rename]
    del model_proto.graph.value_info[:]
    model_proto.graph.value_info.extend(infos)
    return found


def detach(root):
    """Remove the points from ``root`` (hooks, tables, derived quantizers): a plain model again."""
    for module in root.modules():
        for handle_id, hook in list(module._forward_hooks.items()):
            if hook is apply_point:
                del module._forward_hooks[handle_id]
        for attr in ("_quantbridge_apply", "_quantbridge_apply_steps", "_quantbridge_apply_seen"):
            module.__dict__.pop(attr, None)
    if CONTAINER in root._modules:
        del root._modules[CONTAINER]

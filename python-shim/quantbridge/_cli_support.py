"""Small helpers for the Java command line (``io.quantbridge.project``): checking the user's
``package.module:function`` targets with precise messages, loading saved states, limiting
calibration batches and reading a TensorFlow graph builder's tensor names.

Framework imports stay inside the functions that need them.
"""

import importlib
import importlib.util
import itertools
import os
import sys

from quantbridge.common.targets import split_target
from quantbridge.errors import CheckpointError

__all__ = ["check_target", "limited_batches", "load_float_weights", "check_float_model", "load_quant_state",
           "tf_graph_info"]


def _search_path():
    return [p for p in sys.path if p and os.path.isdir(p) and "site-packages" not in p
            and not p.startswith(sys.base_prefix)]


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_") and callable(v)
                 and getattr(v, "__module__", None) == module.__name__]
    return sorted(str(n) for n in names)


def check_target(target, option):
    """Check that ``target`` (``package.module:function``) names a callable; return its file.

    Returns ``None`` when it does, or a one-line message saying which part is missing (the
    module, a package above it, or the function) and what is there instead. Errors raised
    while importing the user's module itself propagate (they are bugs in user code).
    """
    parts = split_target(target)
    if parts is None:
        return f"{option} {target!r}: expected 'package.module:function'"
    module_name, attr = parts
    try:
        spec = importlib.util.find_spec(module_name)
    except ModuleNotFoundError as exc:  # a parent package is missing
        return (f"{option} {target!r}: the module part {module_name!r} was not found: no package {exc.name!r} "
                f"on the Python path {_search_path()}; check the module before ':' and --pythonpath")
    if spec is None:
        return (f"{option} {target!r}: the module part {module_name!r} was not found on the Python path "
                f"{_search_path()}; check the module before ':' and --pythonpath")
    module = importlib.import_module(module_name)
    obj = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            where = attr.split(".")[:i]
            owner = f"{module_name}.{'.'.join(where)}" if where else module_name
            names = _public_names(obj) if obj is module else sorted(n for n in dir(obj) if not n.startswith("_"))
            return (f"{option} {target!r}: the function part {attr!r} was not found: {owner!r} "
                    f"({getattr(module, '__file__', '?')}) has no attribute {part!r}; it has {names[:12]}")
        obj = getattr(obj, part)
    if not callable(obj):
        return f"{option} {target!r}: {attr!r} in module {module_name!r} is a {type(obj).__name__}, not a function"
    return None


def limited_batches(target, kwargs=None, limit=0):
    """The user's data function's batches, at most ``limit`` of them (0: all), kept in Python.

    Generators are read lazily; the result has a length whenever the batches or the limit tell it.
    """
    from quantbridge._java_support import call_user

    from quantbridge.common.batches import check_iterable

    batches = check_iterable(call_user(target, [], kwargs, "data"), f"data function {target}")
    try:
        n = len(batches)
    except TypeError:
        n = None
    limit = int(limit or 0)
    if limit > 0:
        return _Sized(itertools.islice(batches, limit), limit if n is None else min(n, limit), target)
    return _Sized(batches, n, target)


class _Sized:
    """An iterable kept in Python, with a length when one is known (so progress bars have a total).

    ``source`` names the data function in messages about its batches.
    """

    def __init__(self, iterable, n, source=None):
        self.iterable, self.n = iterable, n
        self.source = f"data function {source}" if source else None

    def __iter__(self):
        return iter(self.iterable)

    def __len__(self):
        if self.n is None:
            raise TypeError("the number of batches is not known")
        return self.n


def load_float_weights(model, path, trust_pickle=False, what="--weights"):
    """Load a float ``state_dict`` (``torch.save(model.state_dict(), path)``) into ``model``, strictly.

    A dict holding it under ``state_dict`` / ``model_state_dict`` / ``model`` is accepted too. The
    file is read with a restricted unpickler unless ``trust_pickle``; NaN/Inf are refused.
    """
    import torch

    from quantbridge.torch import _state
    from quantbridge.torch._export import check_state_fits

    where = f"{what} {str(path)!r}"
    state = _state.load_file(path, what, trust_pickle)
    if isinstance(state, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{where} is not a state dict (save model.state_dict() of the float model)")
    check_state_fits(model, state, where, "the model", "pass the state_dict of a float model built by the same factory")
    _state.check_finite(state, where, model=model, hint="the file was saved from a diverged or damaged model")
    model.load_state_dict(state, strict=True)
    return model


def check_float_model(model, factory):
    """Refuse a float model whose weights (the factory's own, or loaded) hold NaN/Inf."""
    from quantbridge.torch import _state

    _state.check_finite(model.state_dict(), f"the model from {factory}", model=model,
                        hint="the factory's or the weight file's values are damaged")
    return model


def load_quant_state(quant_model, path, trust_pickle=False, what="--from"):
    """Load a quant state saved by ``calibrate`` / ``train`` (``quant_model.state_dict()``), checked."""
    from quantbridge.torch import _config, _export

    state, where = _export.read_state(str(path), trust_pickle, what)
    strategies = _config.strategies_of(getattr(quant_model, _config.CONFIG_ATTR))
    _export.load_quant_state(quant_model, state, where, strategies)
    return quant_model


def tf_graph_info(builder, kwargs=None):
    """What the user's graph builder returns (its dict of tensor names), from a throwaway graph."""
    import tensorflow as tf

    from quantbridge._tf_support import builder_info
    from quantbridge.common.targets import resolve_target

    tf.compat.v1.disable_v2_behavior()
    with tf.Graph().as_default():
        info = builder_info(resolve_target(builder)(**dict(kwargs or {})))
    if "builder_result" in info:
        return None
    return {str(k): (v.name if hasattr(v, "name") else v) for k, v in info.items()
            if k != "keras_model" and (isinstance(v, (str, list, tuple)) or hasattr(v, "name"))}


"""A restricted ``pickle`` for ``torch.load(..., pickle_module=_safe_pickle)`` (torch 1.11 has no
``weights_only``).

A pickle can name any importable callable (``os.system``, ``builtins.exec``) and have it called
while it loads. This module's :class:`Unpickler` resolves only the names a saved state needs:
torch's tensor, parameter and storage rebuilders, storage classes, dtypes and ``torch.Size``,
``collections.OrderedDict``, plain builtin containers and numbers, and numpy's array and scalar
reconstruction. Any other name raises :class:`RefusedGlobal` when the unpickler reaches it,
before the object it names is called, so nothing in the file runs.
"""

import collections
import importlib
import io
import pickle

__all__ = ["RefusedGlobal", "Unpickler", "load", "loads", "allowed"]


_BUILTINS = frozenset({"set", "frozenset", "list", "dict", "tuple", "int", "float", "complex", "bool", "str",
                       "bytes", "bytearray", "slice", "range"})
_TORCH_UTILS = frozenset({"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter",
                          "_rebuild_parameter_with_state"})
_NUMPY = {("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"), ("numpy", "ndarray"),
          ("numpy", "dtype")}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names something outside the allow-list (``module``, ``name`` say what)."""

    def __init__(self, module, name):
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


def allowed(module, name):
    """The object ``module.name`` if a saved state may use it, else ``None``."""
    if module == "builtins" and name in _BUILTINS:
        import builtins
        return getattr(builtins, name)
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "_codecs" and name == "encode":      # bytes in protocol-2 pickles
        import _codecs
        return _codecs.encode
    if (module, name) in _NUMPY:
        return getattr(importlib.import_module(module), name)
    if module == "torch._utils" and name in _TORCH_UTILS:
        import torch._utils
        return getattr(torch._utils, name, None)
    if module in ("torch", "torch.storage"):
        import torch
        obj = getattr(torch, name, None)
        if name == "Size" or isinstance(obj, (torch.dtype, torch.layout, torch.memory_format)):
            return obj
        if isinstance(obj, type) and name.endswith("Storage") and _is_storage(obj):
            return obj
    return None


def _is_storage(cls):
    import torch
    bases = tuple(b for b in (getattr(torch, "_StorageBase", None), getattr(torch.storage, "_StorageBase", None),
                              getattr(torch.storage, "_TypedStorage", None),
                              getattr(torch.storage, "_UntypedStorage", None)) if isinstance(b, type))
    return issubclass(cls, bases) if bases else False


class Unpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :func:`allowed` names."""

    def find_class(self, module, name):
        obj = allowed(module, name)
        if obj is None:
            raise RefusedGlobal(module, name)
        return obj


def load(file, **kwargs):
    """``pickle.load`` through :class:`Unpickler`."""
    return Unpickler(file, **kwargs).load()


def loads(data, **kwargs):
    """``pickle.loads`` through :class:`Unpickler`."""
    return Unpickler(io.BytesIO(data), **kwargs).load()

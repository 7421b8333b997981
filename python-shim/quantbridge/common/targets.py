"""``package.module:function`` targets: the one place that splits and resolves them."""

import importlib

__all__ = ["split_target", "resolve_target"]


def split_target(target):
    """``(module, attribute path)`` of ``target``, or None when it is not ``package.module:function``."""
    module_name, sep, attr = str(target).partition(":")
    if not sep or not module_name or not attr:
        return None
    return module_name, attr


def resolve_target(target):
    """The object ``target`` names (its module is imported; ``attr`` may be dotted, ``Class.method``).

    Raises ValueError for a target without ``module:`` and ``function`` parts; ImportError and
    AttributeError propagate.
    """
    parts = split_target(target)
    if parts is None:
        msg = f"expected 'package.module:function', got {target!r}"
        raise ValueError(msg)
    obj = importlib.import_module(parts[0])
    for part in parts[1].split("."):
        obj = getattr(obj, part)
    return obj

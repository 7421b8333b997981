"""Small operations the Java orchestration needs that are not part of the vendor API.

Framework imports stay inside the functions that need them.
"""

import copy
import os
import tempfile

__all__ = ["deepcopy", "save_torch_state", "load_torch_state", "as_float32", "call_user", "call_user_held", "Held", "call_json"]


def deepcopy(obj):
    """An independent copy (the vendor's optimize_model edits a model in place)."""
    return copy.deepcopy(obj)


def save_torch_state(module, path):
    """``torch.save(module.state_dict(), path)`` through a temporary file and a rename."""
    import torch

    from quantbridge.common.paths import temp_file

    path = os.path.abspath(str(path))
    fd, tmp = temp_file(os.path.dirname(path), suffix=".pth")
    os.close(fd)
    try:
        torch.save(module.state_dict(), tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_torch_state(module, path):
    import torch

    module.load_state_dict(torch.load(str(path), map_location="cpu"))
    return module


def as_float32(array):
    """A C-contiguous float32 numpy copy (what Java's NDArray<float[]> expects)."""
    import numpy as np

    return np.ascontiguousarray(np.asarray(array, dtype=np.float32))


def call_user(target, args=None, kwargs=None, phase="train"):
    """Call the user's ``package.module:function``; pass ``progress=`` if it takes one.

    ``progress`` is a :class:`quantbridge.progress.Reporter` for ``phase``: the user calls
    ``progress(step, total, loss=...)`` and Java's progress bar follows.
    """
    import importlib
    import inspect

    from quantbridge.progress import Reporter

    module_name, _, attr = str(target).partition(":")
    fn = importlib.import_module(module_name)
    for part in attr.split("."):
        fn = getattr(fn, part)
    kwargs = dict(kwargs or {})
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    takes_progress = "progress" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    if takes_progress and "progress" not in kwargs:
        kwargs["progress"] = Reporter(phase)
    return fn(*(args or []), **kwargs)


class Held:
    """Keeps a value in Python (a list of batches, say) so that Java gets a handle, not a copy.

    Iterating it iterates the value; ``len()`` works when the value has one.
    """

    def __init__(self, value):
        self.value = value

    def __iter__(self):
        return iter(self.value)

    def __len__(self):
        return len(self.value)

    @property
    def source(self):
        """The data function the value came from, when it says (for error messages)."""
        return getattr(self.value, "source", None)

    def __repr__(self):
        return f"Held({type(self.value).__name__})"


def call_user_held(target, args=None, kwargs=None, phase="calibrate"):
    """:func:`call_user`, with the result kept in Python behind a :class:`Held`."""
    return Held(call_user(target, args, kwargs, phase))


def call_json(target, args=None, kwargs=None):
    """Call ``package.module:function`` and return its result as JSON text (key order kept,
    written exactly as the vendor's config files are)."""
    from quantbridge.common.config import dumps

    return dumps(call_user(target, args, kwargs))

"""Small operations the Java orchestration needs that are not part of the vendor API.

Framework imports stay inside the functions that need them.
"""

import copy
import os
import sys

__all__ = ["deepcopy", "save_torch_state", "load_torch_state", "call_train", "as_float32", "call_user", "call_user_held",
           "Held", "call_json", "quantize_resolved"]


def deepcopy(obj):
    """An independent copy (the vendor's optimize_model edits a model in place)."""
    return copy.deepcopy(obj)


def save_torch_state(module, path):
    """``torch.save(module.state_dict(), path)`` through a temporary file and a rename.

    A state holding NaN or Inf is refused (DivergedError) before anything is written, so an
    existing file at ``path`` stays as it was; an unwritable directory is a PathError.
    """
    import torch

    from quantbridge.common.paths import temp_file
    from quantbridge.errors import DivergedError, PathError
    from quantbridge.torch import _state

    path = os.path.abspath(str(path))
    state = module.state_dict()
    _state.check_finite(state, f"refusing to write {path}", DivergedError, model=module,
                        hint="nothing was written")
    tmp = None
    try:
        fd, tmp = temp_file(os.path.dirname(path), suffix=".pth")
        os.close(fd)
        torch.save(state, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}; choose a writable directory and a shorter name"
        raise PathError(msg) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_torch_state(module, path, trust_pickle=False):
    """Load the state dict in ``path`` into ``module`` (read safely, see quantbridge.torch.load_state)."""
    from quantbridge.torch import load_state

    module.load_state_dict(load_state(str(path), trust_pickle))
    return module


def call_train(target, quant_model, kwargs=None):
    """The user's ``target(quant_model, **kwargs)`` (see :func:`call_user`; wrapped in
    ``DistributedDataParallel`` when several ranks train together), then the check that the quant
    model is still quantized as its config says and finite; returns what the function returned."""
    from quantbridge.torch import check_quant_model
    from quantbridge.torch._distributed import wrap_for_training

    returned = call_user(target, [wrap_for_training(quant_model)], kwargs, "train")
    check_quant_model(quant_model, f"training function {target}")
    return returned


def as_float32(array):
    """A C-contiguous float32 numpy copy (what Java's NDArray<float[]> expects)."""
    import numpy as np

    return np.ascontiguousarray(np.asarray(array, dtype=np.float32))


def call_user(target, args=None, kwargs=None, phase="train"):
    """Call the user's ``package.module:function``; pass ``progress=`` if it takes one, and
    ``rank=`` and ``world_size=`` (of the torch.distributed process group; 0 and 1 without one)
    if it names them.

    ``progress`` is a :class:`quantbridge.progress.Reporter` for ``phase``: the user calls
    ``progress(step, total, loss=...)`` and Java's progress bar follows.
    """
    import inspect

    from quantbridge.common.targets import resolve_target
    from quantbridge.progress import Reporter

    fn = resolve_target(target)
    kwargs = dict(kwargs or {})
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    takes_progress = "progress" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    if takes_progress and "progress" not in kwargs:
        kwargs["progress"] = Reporter(phase)
    for name, value in zip(("rank", "world_size"), _rank_and_world()):
        if name in params and name not in kwargs:
            kwargs[name] = value
    try:
        return fn(*(args or []), **kwargs)
    except SystemExit as exc:
        from quantbridge.errors import UserExit

        role = {"evaluate": "evaluation", "calibrate": "data", "train": "training"}.get(phase, phase)
        bridge = sys.modules.get("quantbridge._bridge")     # inside the JVM os._exit raises its _OsExit
        called = "os._exit" if bridge is not None and isinstance(exc, bridge._OsExit) else "sys.exit"
        msg = (f"{role} function {target} called {called}({exc.code!r}); the embedded interpreter cannot exit, "
               f"so the call was stopped instead (raise an exception to report an error)")
        raise UserExit(msg) from None


def _rank_and_world():
    """``(rank, world_size)`` of the torch.distributed process group, ``(0, 1)`` without one."""
    import sys

    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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


def quantize_resolved(model, resolved_json):
    """``optimize_model``'s rewrite for a config the shim already resolved against ``model``
    (``quantbridge.torch._config.resolve``, JSON text): Java asks for the fit once, then this."""
    import json

    from quantbridge.torch import _config

    return _config.quantize(model, json.loads(resolved_json))

"""Reading and checking PyTorch state files: the one loader every ``.pth`` goes through.

* :func:`load_file` reads a ``torch.save`` file with a restricted unpickler
  (:mod:`quantbridge.torch._safe_pickle`) unless the caller trusts the file, so a pickle that
  would run code is refused before anything in it runs.
* :func:`check_finite` refuses NaN/Inf in a state (loaded, or about to be saved), naming the
  tensor and the layer it belongs to.
* :func:`check_quant_model` checks a quant model after the user's training function ran: every
  layer the config quantizes is still quantized, and no weight or scale is NaN/Inf.
"""

import os
import zipfile

import torch

from quantbridge.common import config as qconfig
from quantbridge.common import finite
from quantbridge.errors import CheckpointError, DivergedError, ModelError
from quantbridge.torch import _layers, _safe_pickle

__all__ = ["TRUST_HINT", "load_file", "check_finite", "check_quant_model"]

TRUST_HINT = "if you made this file and trust it, pass --trust-pickle (Python: trust_pickle=True)"

# Observer statistics: min_val +inf / max_val -inf mean "nothing observed yet" (a layer no
# calibration batch reached); any other NaN/Inf there is damage.
_OBSERVER_UNSET = {"activation_quant.min_val": float("inf"), "activation_quant.max_val": float("-inf")}


def _first_line(exc):
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(exc).__name__}: {line[:200]}" if line else type(exc).__name__


def _torchscript_archive(path):
    """Whether ``path`` is a TorchScript zip (``torch.jit.save``): torch.load would hand it to
    ``torch.jit.load`` instead of unpickling it."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n == "constants.pkl" or n.endswith("/constants.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def load_file(path, what, trust_pickle=False):
    """The object saved in ``path`` by ``torch.save``, on the CPU.

    Unless ``trust_pickle``, only tensors, parameters, storages, dtypes, ``OrderedDict``, plain
    builtin containers, numbers, strings and numpy arrays may be in it: any other name in the
    pickle is refused (CheckpointError) before it is called. ``what`` names the file in messages
    (``"--weights"``, ``"pth_file"``). Raises CheckpointError for a missing, empty, unreadable or
    TorchScript file.
    """
    path = str(path)
    where = f"{what} {path!r}"
    if not os.path.isfile(path):
        msg = f"{where} does not exist" + (" (it is a directory)" if os.path.isdir(path) else "")
        raise CheckpointError(msg)
    if os.path.getsize(path) == 0:
        msg = f"{where} is empty (0 bytes); expected a file written by torch.save"
        raise CheckpointError(msg)
    if not trust_pickle and _torchscript_archive(path):
        msg = (f"{where} is a TorchScript archive (torch.jit.save), not a state dict; save "
               f"model.state_dict() with torch.save")
        raise CheckpointError(msg)
    try:
        if trust_pickle:
            return torch.load(path, map_location="cpu")
        return torch.load(path, map_location="cpu", pickle_module=_safe_pickle)
    except _safe_pickle.RefusedGlobal as exc:
        msg = (f"{where} was refused: its pickle calls {exc.module}.{exc.name}, which is not part of a state dict "
               f"(only tensors, storages, dicts, lists, numbers and strings are loaded); nothing in the file was "
               f"run. Save model.state_dict(), not the model object; {TRUST_HINT}")
        raise CheckpointError(msg) from None
    except Exception as exc:
        msg = (f"{where} cannot be read by torch.load (truncated, corrupt or not a torch.save file): "
               f"{_first_line(exc)}")
        raise CheckpointError(msg) from None


def _layer_labels(model):
    """``key -> " (layer 'name')"`` for the state keys of the model's quantizable layers."""
    if model is None:
        return None
    prefixes = sorted(((path + "." if path else "", name) for name, (path, _) in _layers.find_layers(model).items()),
                      key=lambda p: -len(p[0]))

    def label(key):
        for prefix, name in prefixes:
            if key.startswith(prefix):
                return f" (layer {name!r})"
        return ""
    return label


def _checked_values(state):
    for key, value in state.items():
        if not torch.is_tensor(value):
            continue
        unset = next((v for suffix, v in _OBSERVER_UNSET.items() if key.endswith(suffix)), None)
        if unset is not None and value.is_floating_point():
            value = torch.where(value == unset, torch.zeros_like(value), value)   # NaN, the other Inf stay
        yield key, value


def check_finite(state, where, error=CheckpointError, hint="", model=None):
    """Raise ``error`` if a floating tensor of ``state`` holds NaN or Inf.

    The message names ``where`` (the file or step), the tensor and, given ``model``, its layer.
    An activation quantizer's ``min_val`` may be +inf and ``max_val`` -inf (nothing observed).
    """
    finite.check_finite(_checked_values(state), where, error, hint=hint, label=_layer_labels(model))


def check_quant_model(quant_model, after):
    """Check ``quant_model`` after ``after`` (e.g. ``"training function pkg.mod:fit"``) changed it.

    Raises ModelError if a layer the config sets to ``Quant_INT8-8`` is gone or is no longer a
    quantized layer (replaced by a float one), DivergedError if a weight or scale is NaN/Inf.
    """
    resolved = getattr(quant_model, "_quantbridge_config", None)
    if resolved is None:
        msg = f"after {after}: the model is not a quant model from optimize_model"
        raise ModelError(msg)
    found = _layers.find_layers(quant_model)
    for name, entry in resolved["layer_strategy"].items():
        if entry["quant_strategy"] != qconfig.INT8:
            continue
        if name not in found:
            msg = (f"after {after}: layer {name!r} is gone from the quant model (the config quantizes it); "
                   f"the function must train the layers in place, not remove them; nothing was saved")
            raise ModelError(msg)
        module = found[name][1]
        if not _layers.is_quant_layer(module):
            msg = (f"after {after}: layer {name!r} is a plain {type(module).__module__}.{type(module).__qualname__}, "
                   f"not quantized as the config says ({qconfig.INT8}): the function replaced the quantized layer; "
                   f"train the layers in place; nothing was saved")
            raise ModelError(msg)
    check_finite(quant_model.state_dict(), f"after {after}", DivergedError, model=quant_model,
                 hint="training diverged (lower the learning rate, check the loss); nothing was saved")

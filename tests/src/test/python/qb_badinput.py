"""Damaged, foreign, non-finite and malicious state files for the bad-input suite, made from a good
float state and a good quant state (``io.quantbridge.it.badinput``)."""

import json
import os
import pickle
import zipfile

import numpy as np


class _RunsCode:
    """Unpickling this calls ``os.system``, which creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class _Eval:
    """Unpickling this calls ``builtins.exec``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').close()",)


def _damaged(directory, stem, good):
    """Empty, truncated, random and foreign files in ``directory``; returns ``{name: path}``."""
    data = open(good, "rb").read()
    rng = np.random.RandomState(0)
    files = {
        "empty": b"",
        "one_byte": data[:1],
        "truncated_10": data[: len(data) // 10],
        "truncated_half": data[: len(data) // 2],
        "truncated_tail": data[:-16],
        "random_small": rng.bytes(64),
        "random_large": rng.bytes(20000),
        "zeros": bytes(4096),
        "text": b"this is not a state file\n",
        "json": json.dumps({"conv1.weight": [1, 2, 3]}).encode(),
        "flipped": bytes(b ^ 0xFF if 100 <= i < 400 else b for i, b in enumerate(data)),
    }
    out = {}
    for name, content in files.items():
        path = os.path.join(directory, f"{stem}_{name}.pth")
        with open(path, "wb") as fh:
            fh.write(content)
        out[name] = path
    empty_zip = os.path.join(directory, f"{stem}_empty_zip.pth")
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "not torch")
    out["empty_zip"] = empty_zip
    return out


def make_state_files(directory, float_pth, quant_pth, marker_dir):
    """Every bad state file the suite loads, as ``{name: path}``; malicious ones would create a
    file in ``marker_dir`` (named after them) if their code ever ran."""
    import torch
    from torch import nn

    files = {}
    files.update({f"float_{k}": v for k, v in _damaged(directory, "float", float_pth).items()})
    files.update({f"quant_{k}": v for k, v in _damaged(directory, "quant", quant_pth).items()})
    float_state = torch.load(float_pth)
    quant_state = torch.load(quant_pth)

    def save(name, obj, **kwargs):
        path = os.path.join(directory, f"{name}.pth")
        torch.save(obj, path, **kwargs)
        files[name] = path

    for kind, state in (("float", float_state), ("quant", quant_state)):
        marker = lambda n: os.path.join(marker_dir, f"PWNED_{kind}_{n}")  # noqa: E731
        save(f"{kind}_evil_system", {**state, "x": _RunsCode(marker("system"))})
        save(f"{kind}_evil_exec", {**state, "x": _Eval(marker("exec"))})
        save(f"{kind}_evil_legacy", {**state, "x": _RunsCode(marker("legacy"))}, _use_new_zipfile_serialization=False)
        raw = os.path.join(directory, f"{kind}_evil_raw.pth")
        with open(raw, "wb") as fh:
            pickle.dump({"x": _RunsCode(marker("raw"))}, fh)
        files[f"{kind}_evil_raw"] = raw
        keys = [k for k, v in state.items() if v.is_floating_point() and not k.endswith(("min_val", "max_val"))]
        for key in keys[:4]:
            for bad, label in ((float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "neginf")):
                changed = {k: v.clone() for k, v in state.items()}
                changed[key].view(-1)[0] = bad
                save(f"{kind}_{label}_{key.replace('.', '_')}", changed)
        save(f"{kind}_list", list(state.values()))
        save(f"{kind}_tensor", next(iter(state.values())))
        save(f"{kind}_int", 7)
        save(f"{kind}_missing_key", {k: v for i, (k, v) in enumerate(state.items()) if i != 0})
        save(f"{kind}_extra_key", {**state, "surplus.weight": torch.ones(3)})
        first = next(iter(state))
        save(f"{kind}_wrong_shape", {**state, first: torch.ones(2, 2)})
    save("foreign_model_state", nn.Linear(3, 2).state_dict())
    save("float_whole_model", _model_of(float_state))
    script = os.path.join(directory, "float_torchscript.pth")
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), script)
    files["float_torchscript"] = script
    save("float_checkpoint_dict_nan", {"epoch": 1, "model": {k: v * float("nan") if v.is_floating_point() else v
                                                              for k, v in float_state.items()}})
    # the quant state saved as a float state, and the other way round
    files["float_is_quant"] = quant_pth
    files["quant_is_float"] = float_pth
    # the quant state with a layer never calibrated
    uncalibrated = {k: (torch.zeros_like(v) if k.endswith("activation_quant.calibrated") else v)
                    for k, v in quant_state.items()}
    save("quant_uncalibrated", uncalibrated)
    # observer statistics: +inf min / -inf max mean "nothing observed"; the opposite signs and NaN are damage
    for key, bad, label in (("conv1.activation_quant.min_val", float("-inf"), "neginf_min_val"),
                            ("conv1.activation_quant.max_val", float("inf"), "inf_max_val"),
                            ("conv1.activation_quant.min_val", float("nan"), "nan_min_val")):
        changed = {k: v.clone() for k, v in quant_state.items()}
        changed[key].fill_(bad)
        save(f"quant_{label}", changed)
    return files


def _model_of(state):
    from digitsnet import model
    m = model.build_model()
    m.load_state_dict(state)
    return m

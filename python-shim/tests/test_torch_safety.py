"""State files are loaded without running their code; NaN/Inf never goes in or out; bad batches,
progress calls, deployed shapes and training that breaks the quant model are refused by name."""

import os
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from quantbridge import progress  # noqa: E402
from quantbridge._java_support import call_train, save_torch_state  # noqa: E402
from quantbridge.errors import CheckpointError, ConfigError, DataError, DivergedError, ModelError  # noqa: E402
from quantbridge.examples import digits_torch  # noqa: E402
from quantbridge.torch import (build_config, calibrate, check_quant_model, generate_final_model,  # noqa: E402
                               load_state, optimize_model)

from conftest import all_int8  # noqa: E402

SHAPE = digits_torch.INPUT_SHAPE


class _RunsCode:
    """Unpickling this calls os.system: it creates the file named ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _batches(n=3, size=8):
    g = torch.Generator().manual_seed(0)
    return [torch.rand(size, 1, 8, 8, generator=g) * 16 for _ in range(n)]


@pytest.fixture
def quant(torch_threads):
    model = digits_torch.build_model()
    qm = optimize_model(model, all_int8(build_config(model, SHAPE)))
    calibrate(qm, _batches())
    return qm


@pytest.mark.parametrize("how", ["zip", "legacy", "raw"])
def test_a_pickle_that_runs_code_is_refused_before_it_runs(workdir, how):
    marker = workdir / "created_by_pickle"
    evil = {"conv.weight": torch.ones(1), "x": _RunsCode(marker)}
    if how == "raw":
        with open("evil.pth", "wb") as fh:   # plain pickle (a tensor in it would be refused by itself)
            pickle.dump({"x": _RunsCode(marker)}, fh)
    else:
        torch.save(evil, "evil.pth", _use_new_zipfile_serialization=how == "zip")
    with pytest.raises(CheckpointError, match=r"'evil.pth' was refused: its pickle calls posix.system.*trust-pickle"):
        load_state("evil.pth")
    assert not marker.exists()
    # the explicit opt-out runs it (that is what trusting a file means), then refuses the result
    with pytest.raises(CheckpointError, match="not a state dict|Invalid magic number"):
        load_state("evil.pth", trust_pickle=True)
    assert marker.exists()


def test_generate_final_model_refuses_code_in_the_pth(workdir, quant):
    marker = workdir / "created_by_pickle"
    state = dict(quant.state_dict())
    state["extra"] = _RunsCode(marker)
    torch.save(state, "quant.pth")
    os.mkdir("out")
    with pytest.raises(CheckpointError, match="posix.system"):
        generate_final_model(digits_torch.build_model(), quant._quantbridge_config, "quant.pth", "out")
    assert not marker.exists() and os.listdir("out") == []


def test_ordinary_states_and_checkpoint_dicts_load(workdir, quant):
    torch.save(quant.state_dict(), "zip.pth")
    torch.save(quant.state_dict(), "legacy.pth", _use_new_zipfile_serialization=False)
    for name in ("zip.pth", "legacy.pth"):
        loaded = load_state(name)
        assert all(torch.equal(loaded[k], v) for k, v in quant.state_dict().items())
    from quantbridge.torch import _state
    model = digits_torch.build_model()
    torch.save({"epoch": 3, "model": model.state_dict(), "best": np.float64(0.9), "ids": np.arange(3),
                "opt": torch.optim.Adam(model.parameters()).state_dict()}, "ckpt.pth")
    assert set(_state.load_file("ckpt.pth", "--weights")) == {"epoch", "model", "best", "ids", "opt"}


@pytest.mark.parametrize("content,match", [
    (b"", "is empty"),
    (b"\x00garbage bytes" * 10, "cannot be read by torch.load"),
])
def test_unreadable_files(workdir, content, match):
    with open("bad.pth", "wb") as fh:
        fh.write(content)
    with pytest.raises(CheckpointError, match=match):
        load_state("bad.pth")


def test_truncated_and_torchscript_files(workdir, quant):
    torch.save(quant.state_dict(), "good.pth")
    data = open("good.pth", "rb").read()
    open("cut.pth", "wb").write(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="'cut.pth' cannot be read"):
        load_state("cut.pth")
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), "script.pth")
    with pytest.raises(CheckpointError, match="TorchScript archive"):
        load_state("script.pth")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_in_a_state_is_refused_on_load(workdir, quant, bad):
    state = quant.state_dict()
    state["features.0.activation_quant.scale"] = torch.tensor([bad])
    torch.save(state, "bad.pth")
    with pytest.raises(CheckpointError, match=r"'bad.pth': tensor 'features.0.activation_quant.scale' has 1 (NaN|Inf)"):
        load_state("bad.pth")
    os.mkdir("out")
    with pytest.raises(CheckpointError, match="features.0.activation_quant.scale"):
        generate_final_model(digits_torch.build_model(), quant._quantbridge_config, "bad.pth", "out")
    assert os.listdir("out") == []


def test_float_weights_with_nan_are_refused_naming_the_layer(workdir):
    from quantbridge._cli_support import load_float_weights
    model = digits_torch.build_model()
    state = model.state_dict()
    state["features.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, "float.pth")
    with pytest.raises(CheckpointError, match=r"--weights 'float.pth': tensor 'features.0.weight' \(layer "
                                              r"'features/0/Conv2D'\) has 1 NaN of 144 values"):
        load_float_weights(digits_torch.build_model(), "float.pth")


def test_unobserved_ranges_are_not_nan(quant):
    quant.features[0].activation_quant.min_val.fill_(float("inf"))    # nothing observed: allowed
    check_quant_model(quant)
    for bad in (float("nan"), float("-inf")):
        quant.features[0].activation_quant.min_val.fill_(bad)
        with pytest.raises(DivergedError, match="min_val"):
            check_quant_model(quant)


def test_save_refuses_nan_and_keeps_the_existing_file(workdir, quant):
    save_torch_state(quant, "quant.pth")
    before = open("quant.pth", "rb").read()
    with torch.no_grad():
        quant.fc.weight[0, 0] = float("nan")
    with pytest.raises(DivergedError, match=r"refusing to write .*quant.pth: tensor 'fc.weight' \(layer 'fc/MatMul'\)"):
        save_torch_state(quant, "quant.pth")
    assert open("quant.pth", "rb").read() == before
    assert sorted(os.listdir(".")) == ["quant.pth"]


def test_save_into_an_unwritable_place_is_a_path_error(quant):
    from quantbridge.errors import PathError
    with pytest.raises(PathError, match="cannot write /proc/quant.pth"):
        save_torch_state(quant, "/proc/quant.pth")


@pytest.mark.parametrize("make,match", [
    (lambda: [None], r"batch 1 from the calibration batches is None"),
    (lambda: [()], r"batch 1 .* is an empty tuple"),
    (lambda: [torch.zeros(0, 1, 8, 8)], r"batch 1 .* is empty \(shape \(0, 1, 8, 8\)"),
    (lambda: _batches(2) + [torch.full((4, 1, 8, 8), float("nan"))], r"batch 3 .* has 256 NaN of 256 values"),
    (lambda: [np.full((4, 1, 8, 8), np.inf, dtype=np.float32)], r"batch 1 .* has 256 Inf"),
    (lambda: [b.half() for b in _batches(1)], r"batch 1 .* is float16 .* the model's weights are float32"),
    (lambda: [np.array([["a"]])], r"batch 1 .* is not numeric"),
    (lambda: [[1.0, 2.0]], r"batch 1 .* is a builtins.float"),
    (lambda: [torch.rand(8, 8)], r"batch 1 .* has shape \(8, 8\), float32, but the config's input_shape is "
                                 r"'x:1,1,8,8' and the model fails on it"),
    (lambda: [], r"the calibration batches yielded no batches"),
])
def test_bad_batches_are_refused_by_name_and_keep_the_ranges(quant, make, match):
    before = {k: v.clone() for k, v in quant.state_dict().items()}
    with pytest.raises(DataError, match=match):
        calibrate(quant, make())
    assert all(torch.equal(before[k], v) for k, v in quant.state_dict().items())


@pytest.mark.parametrize("args,match", [
    (("a",), r"progress\('a'\): the step must be a whole number"),
    ((1, "n"), r"the total must be"),
    ((float("nan"),), r"the step"),
    ((-1, 3), r"the step"),
    ((1.5, 3), r"the step"),
])
def test_progress_calls_with_non_numbers_are_refused(args, match):
    with pytest.raises(DataError, match=match):
        progress.Reporter("train")(*args)


def test_progress_accepts_numbers_of_any_kind():
    events = []
    with progress.sink(events.append):
        progress.Reporter("train")(np.int64(2), torch.tensor(5), loss=torch.tensor(0.5))
        progress.Reporter("train")(3.0, None, acc="n/a")
    assert [(e["current"], e["total"]) for e in events] == [(2, 5), (3, None)]


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x, y):
        return self.fc(x) + y


@pytest.mark.parametrize("model,shape,match", [
    (digits_torch.build_model, "x:1,1,16,16", r"input_shape 'x:1,1,16,16': .*DigitsNet cannot run inputs of this shape"),
    (digits_torch.build_model, "x:1,1,8,8;y:1,10", r"has 2 input\(s\) \(x, y\) but .*forward takes 1 \(x\)"),
    (_TwoInputs, "x:1,4", r"has 1 input\(s\) \(x\) but .*forward takes 2 \(x, y\)"),
])
def test_config_refuses_a_shape_the_model_cannot_run(torch_threads, model, shape, match):
    with pytest.raises(ConfigError, match=match):
        build_config(model(), shape)


def test_config_runs_the_deployed_shape_without_changing_the_model(torch_threads):
    model = _TwoInputs().train()
    assert build_config(model, "x:1,4;y:1,2")["input_shape"] == "x:1,4;y:1,2"
    assert model.training


def _swap_layer(quant_model):
    quant_model.features[3] = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)


def _diverge(quant_model):
    with torch.no_grad():
        quant_model.fc.weight.mul_(float("inf"))


def test_training_that_replaces_a_quantized_layer_is_refused(quant, monkeypatch):
    import quantbridge.examples.digits_torch as module
    monkeypatch.setattr(module, "swap", _swap_layer, raising=False)
    with pytest.raises(ModelError, match=r"after training function .*:swap: layer 'features/3/Conv2D' is a plain "
                                         r"torch.nn.modules.conv.Conv2d, not quantized"):
        call_train("quantbridge.examples.digits_torch:swap", quant)


def test_training_that_diverges_is_refused(quant, monkeypatch):
    import quantbridge.examples.digits_torch as module
    monkeypatch.setattr(module, "diverge", _diverge, raising=False)
    with pytest.raises(DivergedError, match=r"tensor 'fc.weight' \(layer 'fc/MatMul'\) has .*(NaN|Inf).*training diverged"):
        call_train("quantbridge.examples.digits_torch:diverge", quant)

"""Every user error is raised before anything changes or is written, and names what is wrong."""

import json
import os

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from quantbridge.errors import CheckpointError, ConfigError, ModelError, PathError  # noqa: E402
from quantbridge.examples import digits_torch  # noqa: E402
from quantbridge.torch import (build_config, calibrate, export_onnx, generate_config_file,  # noqa: E402
                               generate_final_model, optimize_model, set_calibrate_state)

from conftest import all_int8, listing  # noqa: E402

SHAPE = digits_torch.INPUT_SHAPE


def _types(model):
    return [(name, type(m)) for name, m in model.named_modules()]


def _assert_unchanged(model, types, state):
    assert _types(model) == types and not hasattr(model, "_quantbridge_config")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


@pytest.fixture
def model(torch_threads):
    return digits_torch.build_model()


@pytest.fixture
def snapshot(model):
    return _types(model), {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("edit,match", [
    (lambda c: c["layer_strategy"]["features/3/Conv2D"].update(quant_strategy="Quant_INT4-4"),
     r"features/3/Conv2D.*Quant_INT4-4.*expected one of \['float', 'Quant_INT8-8'\]"),
    (lambda c: c["layer_strategy"].update({"features/9/Conv2D": {"op_type": "x", "quant_strategy": "float"}}),
     r"'features/9/Conv2D'.*not a quantizable layer"),
    (lambda c: c["layer_strategy"]["fc/MatMul"].update(op_type="<class 'torch.nn.modules.conv.Conv2d'>"),
     r"'fc/MatMul'.*op_type"),
    (lambda c: c.update(input_shape="x:1,one,8,8"), r"'x:1,one,8,8'"),
    (lambda c: c.update(quantbridge={"calibration": {"method": "kl"}}), r"'kl'"),
    (lambda c: c.pop("layer_strategy"), r"layer_strategy"),
])
def test_bad_config_changes_nothing(model, snapshot, edit, match):
    cfg = all_int8(build_config(model, SHAPE))
    edit(cfg)
    with pytest.raises(ConfigError, match=match):
        optimize_model(model, cfg)
    _assert_unchanged(model, *snapshot)


def test_bad_config_file(workdir, model, snapshot):
    with pytest.raises(PathError, match="no_such.json"):
        optimize_model(model, "no_such.json")
    with open("broken.json", "w") as fh:
        fh.write("{not json")
    with pytest.raises(ConfigError, match="broken.json.*not valid JSON"):
        optimize_model(model, "broken.json")
    _assert_unchanged(model, *snapshot)


def test_data_parallel_is_refused_everywhere(workdir, model, snapshot):
    wrapped = nn.DataParallel(model)
    cfg = all_int8(build_config(model, SHAPE))
    for call in (lambda: generate_config_file(wrapped, SHAPE),
                 lambda: build_config(wrapped, SHAPE),
                 lambda: optimize_model(wrapped, cfg),
                 lambda: generate_final_model(wrapped, cfg, "quant.pth", "./")):
        with pytest.raises(ModelError, match="DataParallel"):
            call()
    _assert_unchanged(model, *snapshot)
    assert listing(workdir) == {}


def test_not_a_module_and_double_optimize(model):
    with pytest.raises(ModelError, match="torch.nn.Module"):
        optimize_model("model", {"layer_strategy": {}})
    cfg = all_int8(build_config(model, SHAPE))
    quant = optimize_model(model, cfg)
    with pytest.raises(ModelError, match="features/0/Conv2D.*already quantized"):
        optimize_model(quant, cfg)
    with pytest.raises(ModelError, match="optimize_model"):
        set_calibrate_state(digits_torch.build_model(), True)


def test_grouped_conv_transpose_is_refused(torch_threads):
    net = nn.Sequential(nn.ConvTranspose2d(4, 4, 2, groups=2))
    cfg = all_int8(build_config(net, "x:1,4,4,4"))
    with pytest.raises(ModelError, match="'0/Conv2DTranspose'.*groups=2"):
        optimize_model(net, cfg)
    assert type(net[0]) is nn.ConvTranspose2d


@pytest.mark.parametrize("shape", ["", "x", "x:1,a,8,8", "x:1,0,8", "x:1,2;x:1,2", "1x:1,2"])
def test_malformed_input_shape(workdir, model, shape):
    with pytest.raises(ConfigError, match="input_shape"):
        generate_config_file(model, shape)
    assert listing(workdir) == {}


@pytest.mark.parametrize("dst,match", [
    ("bad-dir/config.json", "'bad-dir'"), ("no_dir/config.json", "does not exist"),
    ("con fig.json", "'con fig.json'"), ("./", "file name"),
])
def test_dst_path_rule(workdir, model, dst, match):
    os.mkdir("bad-dir")
    with pytest.raises(PathError, match=match):
        generate_config_file(model, SHAPE, dst_path=dst)
    assert listing(workdir) == {}


@pytest.fixture
def trained(workdir, model):
    """A calibrated quant state in quant.pth, the config in cfg.json, and an empty out/."""
    cfg = all_int8(build_config(model, SHAPE))
    with open("cfg.json", "w") as fh:
        json.dump(cfg, fh)
    quant = optimize_model(model, cfg)
    calibrate(quant, digits_torch.calibration_batches(num_batches=1))
    torch.save(quant.state_dict(), "quant.pth")
    os.mkdir("out")
    return cfg, quant


@pytest.mark.parametrize("output_dir,match", [("bad-dir", "'bad-dir'"), ("missing", "does not exist"),
                                              ("out/x.y", "'x.y'")])
def test_output_dir_rule(trained, output_dir, match):
    os.mkdir("bad-dir")
    before = listing(".")
    with pytest.raises(PathError, match=match):
        generate_final_model(digits_torch.build_model(), "cfg.json", "quant.pth", output_dir)
    assert listing(".") == before


def test_pth_path_and_name_rule(trained):
    before = listing(".")
    with pytest.raises(PathError, match="'nothere.pth'"):
        generate_final_model(digits_torch.build_model(), "cfg.json", "nothere.pth", "out")
    with pytest.raises(PathError, match="file name"):
        generate_final_model(digits_torch.build_model(), "cfg.json", "quant.pth", "out", name="my-model")
    with pytest.raises(PathError, match="plain file stem"):
        generate_final_model(digits_torch.build_model(), "cfg.json", "quant.pth", "out", name="a/b")
    assert listing(".") == before


def _save(state, name="bad.pth"):
    torch.save(state, name)
    return name


def test_pth_that_does_not_fit(trained):
    cfg, quant = trained
    before = listing(".")
    fresh = digits_torch.build_model
    float_only = _save(digits_torch.build_model().state_dict(), "float.pth")
    with pytest.raises(CheckpointError, match=r"missing keys: .*features\.0\.activation_quant\.scale"):
        generate_final_model(fresh(), "cfg.json", float_only, "out")
    partial = build_config(fresh(), SHAPE)
    partial["layer_strategy"]["fc/MatMul"]["quant_strategy"] = "Quant_INT8-8"
    with pytest.raises(CheckpointError, match=r"unexpected keys: .*features\.0\.activation_quant"):
        generate_final_model(fresh(), partial, "quant.pth", "out")
    state = dict(quant.state_dict())
    state["fc.weight"] = torch.zeros(10, 64)
    with pytest.raises(CheckpointError, match=r"fc\.weight \(10, 64\) vs \(10, 512\)"):
        generate_final_model(fresh(), "cfg.json", _save(state), "out")
    uncalibrated = optimize_model(fresh(), cfg).state_dict()
    with pytest.raises(CheckpointError, match="features/0/Conv2D.*never calibrated"):
        generate_final_model(fresh(), "cfg.json", _save(uncalibrated), "out")
    with pytest.raises(CheckpointError, match="checkpoint dict"):
        generate_final_model(fresh(), "cfg.json", _save({"state_dict": state, "epoch": 3}), "out")
    with open("junk.pth", "w") as fh:
        fh.write("not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pth.*torch.load"):
        generate_final_model(fresh(), "cfg.json", "junk.pth", "out")
    after = listing(".")
    assert {k: v for k, v in after.items() if k.startswith("out")} == {}
    assert set(after) - set(before) == {"float.pth", "bad.pth", "junk.pth"}


def test_existing_outputs_are_not_overwritten(trained):
    with open("out/model_quant_param.json", "w") as fh:
        fh.write("keep me")
    with pytest.raises(PathError, match="model_quant_param.json"):
        generate_final_model(digits_torch.build_model(), "cfg.json", "quant.pth", "out")
    assert listing("out") == {"model_quant_param.json": b"keep me"}
    with open("out/model.onnx", "w") as fh:
        fh.write("keep me too")
    with pytest.raises(PathError, match="model.onnx"):
        export_onnx(digits_torch.build_model(), "cfg.json", "quant.pth", "out")
    assert listing("out") == {"model_quant_param.json": b"keep me", "model.onnx": b"keep me too"}
    result = generate_final_model(digits_torch.build_model(), "cfg.json", "quant.pth", "out", overwrite=True)
    assert sorted(listing("out")) == ["model.onnx", "model_quant_param.json"]
    assert listing("out")["model.onnx"] != b"keep me too" and result["param_dict"]["layers"]


def test_config_without_input_shape_cannot_export(trained):
    cfg, _ = trained
    cfg = dict(cfg)
    cfg.pop("input_shape")
    with pytest.raises(ConfigError, match="input_shape"):
        generate_final_model(digits_torch.build_model(), cfg, "quant.pth", "out")
    assert listing("out") == {}

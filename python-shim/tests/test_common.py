"""Framework-free pieces: qparam math, config validation, path rule, parameter file."""

import json
import os

import numpy as np
import pytest

from quantbridge.common import config, paramfile, paths, qparams
from quantbridge.errors import ConfigError, PathError


def test_activation_qparams_cover_range_and_zero():
    scale, zp = qparams.activation_qparams(-1.0, 3.0)
    assert scale == pytest.approx(4.0 / 255, rel=1e-6)
    assert zp == 64
    x = np.array([-1.0, 0.0, 3.0], np.float32)
    fq = qparams.fake_quant(x, scale, zp, 0, 255)
    assert fq[1] == 0.0, "zero must be exactly representable"
    assert np.allclose(fq, x, atol=scale / 2)


def test_positive_only_range_is_widened_to_zero():
    scale, zp = qparams.activation_qparams(0.5, 2.0)
    assert zp == 0 and scale == pytest.approx(2.0 / 255, rel=1e-6)


def test_fake_quant_rounds_half_to_even_like_onnx():
    # 0.5 and 1.5 steps: half to even gives 0 and 2
    out = qparams.fake_quant(np.array([0.5, 1.5, 2.5], np.float32), 1.0, 0, -127, 127)
    assert out.tolist() == [0.0, 2.0, 2.0]


def test_weight_scales_per_channel_symmetric():
    w = np.array([[1.0, -2.0], [0.5, 0.25]], np.float32)
    scales = qparams.weight_qparams(np.abs(w).max(axis=1))
    assert np.allclose(scales, [2.0 / 127, 0.5 / 127])
    q = qparams.fake_quant(w, scales, np.zeros(2), -127, 127, axis=0)
    assert np.abs(q - w).max() <= scales.max() / 2 + 1e-7


def test_histogram_percentile_ignores_outliers_and_mse_is_within_range():
    rng = np.random.default_rng(0)
    obs = qparams.HistogramObserver(bins=1024)
    obs.update(rng.normal(size=100_000))
    obs.update(np.array([50.0]))
    lo, hi = obs.percentile_range(99.9)
    assert -4.5 < lo < -2.5 and 2.5 < hi < 4.5
    mlo, mhi = obs.mse_range()
    assert obs.lo <= mlo <= 0.0 <= mhi <= obs.hi
    assert qparams.choose_range("minmax", -1.0, 50.0, obs) == (-1.0, 50.0)
    with pytest.raises(ValueError, match="unknown calibration method 'kl'"):
        qparams.choose_range("kl", 0, 1, obs)


def test_histogram_growing_range_keeps_percentiles():
    """A maximum that grows a little with every batch must not drift the distribution."""
    rng = np.random.default_rng(0)
    batches = [np.maximum(rng.standard_normal(200_000), 0)]
    top = batches[0].max()
    for _ in range(300):
        batch = np.maximum(rng.standard_normal(2000), 0)
        top *= 1.0007
        batch[0] = top
        batches.append(batch)
    obs = qparams.HistogramObserver(bins=2048)
    for batch in batches:
        obs.update(batch)
    values = np.concatenate(batches)
    assert obs.counts.sum() == pytest.approx(values.size)
    _, hi = obs.percentile_range(99.0)
    assert hi == pytest.approx(np.percentile(values, 99.5), rel=0.01)


def test_sqnr():
    x = np.ones(10)
    assert qparams.sqnr_db(x, x) == float("inf")
    assert qparams.sqnr_db(x, x * 0.9) == pytest.approx(20.0)


LAYERS = {"conv1/Conv2D": "Conv2D", "fc/MatMul": "MatMul"}
SUPPORTED = {"Conv2D": ["Quant_INT8-8"], "MatMul": ["Quant_INT8-8"]}


def test_template_and_validation():
    cfg = config.build_template(list(LAYERS.items()), SUPPORTED)
    assert list(cfg) == ["quant_strategy_for op 'Conv2D'", "quant_strategy_for op 'MatMul'", "layer_strategy"]
    cfg["layer_strategy"]["fc/MatMul"]["quant_strategy"] = "Quant_INT8-8"
    cfg["layer_strategy"]["fc/MatMul"]["//"] = "comment"
    cfg["//"] = "top comment"
    assert config.validate(config.load(cfg), LAYERS, SUPPORTED) == {"conv1/Conv2D": "float", "fc/MatMul": "Quant_INT8-8"}


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["layer_strategy"].update({"extra/Conv2D": {"op_type": "Conv2D", "quant_strategy": "float"}}),
     "layer 'extra/Conv2D' in the config is not a quantizable layer"),
    (lambda c: c["layer_strategy"]["fc/MatMul"].update(quant_strategy="Quant_INT4-4"),
     "quant_strategy 'Quant_INT4-4' is not supported"),
    (lambda c: c["layer_strategy"]["fc/MatMul"].update(op_type="Conv2D"),
     "op_type is 'Conv2D' in the config but 'MatMul'"),
    (lambda c: c.update(quantbridge={"calibration": {"method": "kl"}}), "calibration.method' is 'kl'"),
    (lambda c: c.update(quantbridge={"calibration": {"percentile": 20}}), "percentile' is 20"),
    (lambda c: c.update(quantbridge={"bogus": 1}), "unknown key(s) ['bogus']"),
])
def test_validation_errors_name_the_problem(mutate, message):
    cfg = config.build_template(list(LAYERS.items()), SUPPORTED)
    mutate(cfg)
    with pytest.raises(ConfigError) as info:
        config.validate(config.load(cfg), LAYERS, SUPPORTED)
    assert message in str(info.value)


def test_load_reports_json_position(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"layer_strategy": {,}}')
    with pytest.raises(ConfigError, match="line 1, column 21"):
        config.load(str(bad))
    with pytest.raises(PathError, match="does not exist"):
        config.load(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="layer_strategy"):
        config.load({"input_shape": "x:1"})


@pytest.mark.parametrize("text, message", [
    ("x:1,3,a", "malformed"), ("x", "malformed"), ("x:1,0", "positive"), ("x:1;x:2", "twice"), ("", "malformed"),
])
def test_input_shape_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        config.parse_input_shape(text)


def test_input_shape_round_trip():
    shapes = config.parse_input_shape("x:1,3,224,224; y : 1,10")
    assert shapes == [("x", [1, 3, 224, 224]), ("y", [1, 10])]
    assert config.format_input_shape(shapes) == "x:1,3,224,224;y:1,10"


def test_path_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("good_dir")
    assert paths.check_dir("good_dir").endswith("good_dir")
    assert paths.check_file_path("good_dir/config_gen.json").endswith("config_gen.json")
    with pytest.raises(PathError, match="directory name 'bad-dir'"):
        paths.check_dir("bad-dir")
    with pytest.raises(PathError, match="file name 'conf-1.json'"):
        paths.check_file_path("good_dir/conf-1.json")
    with pytest.raises(PathError, match="does not exist"):
        paths.check_dir("missing_dir")
    with pytest.raises(PathError, match="does not exist"):
        paths.check_file_path("missing_dir/a.json")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    paths.atomic_write_text(str(target), "one")

    with pytest.raises(TypeError):
        paths.atomic_write_bytes(str(target), 12345)  # not bytes: fails mid-write
    assert target.read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_param_file_round_trip(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"abc")
    layer = {"name": "fc/MatMul", "op_type": "MatMul", "quant_strategy": "Quant_INT8-8", "node": "Gemm_0",
             "weight": paramfile.weight_entry("fc.weight", 0, [0.1, 0.2]),
             "activation": paramfile.activation_entry("x", 0.02, 128, -2.5, 2.6)}
    params = paramfile.build("torch", str(model), [layer], input_shape="x:1,4")
    assert params["model"]["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    out = paramfile.write(str(tmp_path / "m_quant_param.json"), params)
    assert paramfile.read(out) == json.loads(json.dumps(params))
    (tmp_path / "other.json").write_text('{"format": "x"}')
    with pytest.raises(ValueError, match="not a QuantBridge parameter file"):
        paramfile.read(str(tmp_path / "other.json"))


def test_vendor_rule_off_accepts_ordinary_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.makedirs("my-app/out dir.v1/ünï")
    previous = paths.set_vendor_rule(False)
    try:
        assert paths.check_dir("my-app/out dir.v1/ünï").endswith("ünï")
        assert paths.check_file_path("my-app/out dir.v1/ünï/model-1.onnx").endswith("model-1.onnx")
        with pytest.raises(PathError, match="does not exist"):
            paths.check_dir("missing-dir")
        # The rule itself, on request, whatever the setting.
        with pytest.raises(PathError, match="directory name 'my-app'"):
            paths.check_vendor_path("my-app/out/model.onnx", "file")
        with pytest.raises(PathError, match="file name 'model-1.onnx'"):
            paths.check_vendor_path("out/model-1.onnx", "file")
        assert paths.check_vendor_path("out_1/model.onnx", "file") == "out_1/model.onnx"
    finally:
        paths.set_vendor_rule(previous)
    with pytest.raises(PathError, match="vendor's path rule"):
        paths.check_dir("my-app")


def test_temporary_names_carry_the_owner(tmp_path):
    pid, start = paths.owner_tag().split("-")
    assert int(pid) == os.getpid() and int(start) >= 0
    fd, tmp = paths.temp_file(str(tmp_path))
    os.close(fd)
    assert os.path.basename(tmp).startswith(f".qb-{paths.owner_tag()}-")


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update({"quant_strategy_for op 'Conv2D'": "Quant_INT8-8"}),
     "\"quant_strategy_for op 'Conv2D'\" is 'Quant_INT8-8'; expected a list of strategy names such as ['Quant_INT8-8']"),
    (lambda c: c.update(input_shape=5),            # a TensorFlow config too: the rule has no framework
     "input_shape 5 is malformed; expected 'name:d1,d2,...' with inputs separated by ';'"),
    (lambda c: c.update(quantbridge={"reduce_range": 0.5, "calibration": {"method": "kl"}}),
     "'quantbridge.reduce_range' is 0.5; expected true or false"),
    (lambda c: c.update(quantbridge={"onnx_weight_type": "int4"}),
     "'quantbridge.onnx_weight_type' is 'int4'; expected one of ['uint8', 'int8']"),
    (lambda c: c["layer_strategy"].update({"extra/Conv2D": {"op_type": "Conv2D", "quant_strategy": "float"}})
     or c.update(quantbridge={"calibration": {"bins": 3}}),
     "'quantbridge.calibration.bins' is 3; expected an integer >= 16"),
])
def test_plain_python_applies_the_structural_rules_before_the_model_fit(mutate, message):
    # the same rules file the Java library applies (config_rules.json): same verdicts, same order
    cfg = config.build_template(list(LAYERS.items()), SUPPORTED)
    mutate(cfg)
    with pytest.raises(ConfigError) as info:
        config.validate(config.load(cfg), LAYERS, SUPPORTED)
    assert str(info.value) == message


def test_read_rules_refuse_a_non_string_strategy():
    cfg = config.build_template(list(LAYERS.items()), SUPPORTED)
    cfg["layer_strategy"]["fc/MatMul"]["quant_strategy"] = 8
    with pytest.raises(ConfigError) as info:
        config.load(cfg)
    assert str(info.value) == ("config: layer_strategy['fc/MatMul'].quant_strategy is 8 (int); expected a string "
                               "such as 'float' or 'Quant_INT8-8'")


def test_validate_gives_every_model_layer_in_model_order_omitted_ones_at_float():
    cfg = config.load({"layer_strategy": {"fc/MatMul": {"quant_strategy": "Quant_INT8-8"}, "//x": 1}})
    result = config.validate(cfg, LAYERS, SUPPORTED)
    assert list(result.items()) == [("conv1/Conv2D", "float"), ("fc/MatMul", "Quant_INT8-8")]


def test_model_fit_messages():
    cfg = config.build_template(list(LAYERS.items()), SUPPORTED)
    cfg["layer_strategy"]["fc/MatMul"]["op_type"] = "Conv2D"
    with pytest.raises(ConfigError) as info:
        config.validate(config.load(cfg), LAYERS, SUPPORTED)
    assert str(info.value) == "layer 'fc/MatMul': op_type is 'Conv2D' in the config but 'MatMul' in the model"

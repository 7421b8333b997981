"""The vendor's PyTorch workflow and the helpers the Java side calls."""

import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from quantbridge import progress  # noqa: E402
from quantbridge.common import paramfile  # noqa: E402
from quantbridge.examples import digits_torch  # noqa: E402
from quantbridge.torch import (build_config, calibrate, fake_quant_predict, list_layers, optimize_model,  # noqa: E402
                               quant_params, set_calibrate_state)

from conftest import all_int8  # noqa: E402

DIGITS_LAYERS = [
    ["features/0/Conv2D", "<class 'torch.nn.modules.conv.Conv2d'>"],
    ["features/3/Conv2D", "<class 'torch.nn.modules.conv.Conv2d'>"],
    ["features/6/Conv2D", "<class 'torch.nn.modules.conv.Conv2d'>"],
    ["fc/MatMul", "<class 'torch.nn.modules.linear.Linear'>"],
]


def test_vendor_snippet_flow(workdir, digits_float):
    # -- the vendor's snippet; only the import line is QuantBridge's --------------------------
    from quantbridge.torch import (generate_config_file, generate_final_model, get_quant_loss,
                                   optimize_model, set_calibrate_state)

    torch.save(digits_float[0], "float.pth")          # prerequisite: the full-precision .pth
    model = digits_torch.build_model()
    generate_config_file(model, "x:1,1,8,8", dst_path="./config_gen.json")
    with open("config_gen.json") as fh:                # the user edits the template
        cfg = json.load(fh)
    assert cfg["input_shape"] == "x:1,1,8,8"
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    cfg["layer_strategy"]["features/0/Conv2D"]["//"] = "a comment inside a layer entry"
    with open("config_gen.json", "w") as fh:
        json.dump(cfg, fh)

    quant_model = optimize_model(model, "./config_gen.json")
    result = quant_model.load_state_dict(torch.load("float.pth"), strict=False)
    assert result.unexpected_keys == []
    assert all(".activation_quant." in k or ".weight_quant." in k for k in result.missing_keys)
    optimizer = torch.optim.SGD(quant_model.parameters(), lr=0.001, momentum=0.9)

    # retraining: a few steps with the optional quant loss
    data = digits_torch.load_data()
    x, y = torch.from_numpy(data["x_train"][:256]), torch.from_numpy(data["y_train"][:256])
    quant_model.train()
    for i in range(0, 256, 64):
        loss = torch.nn.functional.cross_entropy(quant_model(x[i:i + 64]), y[i:i + 64])
        quant_loss = get_quant_loss(quant_model)
        total_loss = loss + 0.05 * quant_loss
        optimizer.zero_grad()
        total_loss.backward()
        optimizer.step()
    torch.save(quant_model.state_dict(), "quant.pth")

    # no-training: calibration
    quant_model.eval()
    set_calibrate_state(quant_model, True)
    with torch.no_grad():
        for batch in digits_torch.calibration_batches():
            quant_model(batch)
    set_calibrate_state(quant_model, False)
    torch.save(quant_model.state_dict(), "calib.pth")

    os.mkdir("out")
    for pth in ("quant.pth", "calib.pth"):
        fresh = digits_torch.build_model()
        out = generate_final_model(fresh, "./config_gen.json", pth_file=pth, output_dir="./out", overwrite=True)
        assert out["onnx"] == os.path.abspath("out/model.onnx")
        assert out["params"] == os.path.abspath("out/model_quant_param.json")
        assert paramfile.read(out["params"]) == out["param_dict"]
        assert [layer["name"] for layer in out["param_dict"]["layers"]] == [n for n, _ in DIGITS_LAYERS]
    assert sorted(os.listdir("out")) == ["model.onnx", "model_quant_param.json"]   # no temp files left
    # the vendor defaults: pth_file="quant.pth", output_dir="./"
    generate_final_model(digits_torch.build_model(), "./config_gen.json")
    assert os.path.isfile("model.onnx") and os.path.isfile("model_quant_param.json")


def test_layer_listing_names_and_op_types(digits_model):
    assert list_layers(digits_model) == DIGITS_LAYERS
    cfg = build_config(digits_model, "x:1,1,8,8")
    assert cfg["layer_strategy"]["fc/MatMul"] == {"op_type": DIGITS_LAYERS[3][1], "quant_strategy": "float"}
    assert cfg["quant_strategy_for op '<class 'torch.nn.modules.conv.Conv2d'>'"] == ["Quant_INT8-8"]


def test_mixed_config_quantizes_only_chosen_layers_in_place(digits_model):
    cfg = build_config(digits_model, "x:1,1,8,8")
    cfg["layer_strategy"]["features/3/Conv2D"]["quant_strategy"] = "Quant_INT8-8"
    float_keys = set(digits_model.state_dict())
    conv = digits_model.features[3]
    quant = optimize_model(digits_model, cfg)
    assert quant is digits_model
    assert type(quant.features[3]).__name__ == "QuantConv2d" and isinstance(quant.features[3], torch.nn.Conv2d)
    assert quant.features[3].weight is conv.weight                      # the float Parameter, shared
    assert type(quant.features[0]) is torch.nn.Conv2d and type(quant.fc) is torch.nn.Linear
    extra = set(quant.state_dict()) - float_keys
    assert float_keys <= set(quant.state_dict()) and all(k.startswith("features.3.") for k in extra)
    assert quant._quantbridge_config["layer_strategy"]["features/3/Conv2D"]["quant_strategy"] == "Quant_INT8-8"
    assert [p["quant_strategy"] for p in quant_params(quant)] == ["float", "Quant_INT8-8", "float", "float"]


def test_state_dict_round_trip(workdir, digits_model):
    cfg = all_int8(build_config(digits_model, "x:1,1,8,8"), "percentile")
    quant = optimize_model(digits_model, cfg)
    calibrate(quant, digits_torch.calibration_batches(num_batches=2))
    digits_torch.train(quant, epochs=1, progress=lambda *a, **k: None)
    torch.save(quant.state_dict(), "quant.pth")
    other = optimize_model(digits_torch.build_model(seed=7), cfg)
    other.load_state_dict(torch.load("quant.pth"))
    x = digits_torch.test_inputs()
    assert np.array_equal(fake_quant_predict(quant, x), fake_quant_predict(other, x))
    assert quant_params(quant) == quant_params(other)


def test_calibration_changes_no_weights(digits_model):
    quant = optimize_model(digits_model, all_int8(build_config(digits_model, "x:1,1,8,8"), "mse"))
    before = {k: v.clone() for k, v in quant.state_dict().items() if "_quant." not in k}
    quant.train()   # calibrate() switches to eval itself and restores the mode
    events = []
    with progress.sink(events.append):
        assert calibrate(quant, [(b, None) for b in digits_torch.calibration_batches()], max_batches=5) == 5
    assert quant.training
    after = quant.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [(e["phase"], e["current"], e["total"]) for e in events] == [("calibrate", i, 5) for i in range(1, 6)]
    params = quant_params(quant)
    assert all(p["activation"]["calibrated"] for p in params)
    # the vendor's manual form changes nothing either
    quant.eval()
    set_calibrate_state(quant, True)
    with torch.no_grad():
        quant(torch.from_numpy(digits_torch.test_inputs()[:64]))
    set_calibrate_state(quant, False)
    assert all(torch.equal(before[k], quant.state_dict()[k]) for k in before)


def test_calibrate_accepts_numpy_batches_and_reports_params(digits_model):
    quant = optimize_model(digits_model, all_int8(build_config(digits_model, "x:1,1,8,8")))
    x = digits_torch.test_inputs()
    assert calibrate(quant, [x[:100], x[100:200]]) == 2
    first = quant_params(quant)[0]
    assert first["weight"]["axis"] == 0 and len(first["weight"]["scale"]) == 16
    assert (first["node"], first["weight"]["tensor"]) == ("features.0", "features.0.weight")
    lo, hi = float(x[:200].min()), float(x[:200].max())
    assert first["activation"]["min"] == pytest.approx(lo, abs=first["activation"]["scale"])
    assert first["activation"]["max"] == pytest.approx(hi, abs=first["activation"]["scale"])
    assert fake_quant_predict(quant, x[:3]).shape == (3, 10)

"""Accuracy of the digits example: post-training calibration and quantization-aware training."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from quantbridge.examples import digits_torch  # noqa: E402
from quantbridge.torch import build_config, calibrate, optimize_model  # noqa: E402

from conftest import all_int8  # noqa: E402


def _quant(digits_model, method="minmax"):
    return optimize_model(digits_model, all_int8(build_config(digits_model, digits_torch.INPUT_SHAPE), method))


def test_float_model_is_good(digits_float):
    print(f"\ndigits float top-1: {digits_float[1]:.2f}%")
    assert digits_float[1] >= 96.0


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_post_training_calibration_within_one_point(digits_float, digits_model, method):
    quant = _quant(digits_model, method)
    calibrate(quant, digits_torch.calibration_batches())
    accuracy = digits_torch.evaluate(quant)
    print(f"\ndigits PTQ {method}: {accuracy:.2f}% (float {digits_float[1]:.2f}%)")
    assert accuracy >= digits_float[1] - 1.0


def test_quantization_aware_training_within_half_a_point(digits_float, digits_model):
    quant = _quant(digits_model)
    calibrate(quant, digits_torch.calibration_batches())
    steps = []
    result = digits_torch.train(quant, epochs=2, progress=lambda current, total, **m: steps.append((current, total)))
    assert result["steps"] == len(steps) == steps[-1][1]
    accuracy = digits_torch.evaluate(quant)
    print(f"\ndigits QAT: {accuracy:.2f}% (float {digits_float[1]:.2f}%)")
    assert accuracy >= digits_float[1] - 0.5


def test_example_is_deterministic(torch_threads):
    a, b = digits_torch.build_model(), digits_torch.build_model()
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    first = [t.clone() for t in digits_torch.calibration_batches(num_batches=2)]
    assert all(torch.equal(x, y) for x, y in zip(first, digits_torch.calibration_batches(num_batches=2)))
    data = digits_torch.load_data()
    assert data["x_train"].shape == (1437, 1, 8, 8) and data["x_test"].shape == (360, 1, 8, 8)
    assert data["x_train"].dtype.name == "float32"
    assert abs(float(data["x_train"].mean())) < 1e-4 and abs(float(data["x_train"].std()) - 1) < 1e-3

"""PyTorch models with several inputs: batches give them as ``((x, y, ...), targets)`` in
``forward``'s order; calibration and sensitivity run ``model(*inputs)``, the deployed check's
batches carry one array per input (a batch with another number of inputs is one DataError naming
it), and ``fake_quant_predict`` takes the list."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from quantbridge import _deployed  # noqa: E402
from quantbridge.errors import DataError  # noqa: E402
from quantbridge.sensitivity import torch_sensitivity  # noqa: E402
from quantbridge.torch import build_config, calibrate, fake_quant_predict, optimize_model, quant_params  # noqa: E402

from conftest import all_int8  # noqa: E402


class TwoInputs(torch.nn.Module):
    """images [N,1,8,8] and a mask of the same shape: two conv branches, concatenated, linear."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 8 * 8, 10)

    def forward(self, x, m):
        return self.fc(torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x * m))], 1).flatten(1))


def _batches(n=3):
    g = torch.Generator().manual_seed(1)
    return [((torch.randn(16, 1, 8, 8, generator=g), (torch.rand(16, 1, 8, 8, generator=g) > 0.3).float()),
             torch.randint(0, 10, (16,), generator=g)) for _ in range(n)]


def test_calibration_and_prediction_feed_every_input_in_order():
    quant = optimize_model(TwoInputs(), all_int8(build_config(TwoInputs(), "x:1,1,8,8;m:1,1,8,8")))
    batches = _batches()
    assert calibrate(quant, batches) == 3
    assert all(entry["activation"]["calibrated"] for entry in quant_params(quant))
    (x, m), _ = batches[0]
    got = fake_quant_predict(quant, [x.numpy(), m.numpy()])
    quant.eval()
    with torch.no_grad():
        assert np.array_equal(got, quant(x, m).numpy())
    swapped = fake_quant_predict(quant, [m.numpy(), x.numpy()])
    assert not np.array_equal(got, swapped)                 # the order is forward's, not a guess
    result = torch_sensitivity(quant, batches)
    assert result["batches"] == 3 and [entry["name"] for entry in result["layers"]] == ["a/Conv2D", "b/Conv2D", "fc/MatMul"]
    assert 10 < result["quantized"]["sqnr_db"] < float("inf")


def test_deployed_batches_carry_one_array_per_input_and_the_labels():
    out = _deployed.labelled_batches(_batches(2), ["x", "m"], "data function p.data:batches")
    assert len(out) == 2
    inputs, labels = out[0]
    assert [a.shape for a in inputs] == [(16, 1, 8, 8), (16, 1, 8, 8)] and all(a.dtype == np.float32 for a in inputs)
    assert labels.dtype == np.int64 and labels.shape == (16,)
    single = _deployed.labelled_batches([np.zeros((2, 3)), (np.ones((2, 3)), np.array([1, 2]))], ["x"])
    assert [len(xs) for xs, _ in single] == [1, 1] and single[0][1] is None and list(single[1][1]) == [1, 2]


@pytest.mark.parametrize("batch,got", [((np.zeros((2, 1, 8, 8)), np.ones((2, 1, 8, 8))), 1),
                                       (((np.zeros((2, 1, 8, 8)),) * 3, None), 3)])
def test_a_batch_with_another_number_of_inputs_is_one_data_error_naming_it(batch, got):
    with pytest.raises(DataError) as exc:
        _deployed.labelled_batches([batch], ["x", "m"], "data function p.data:batches")
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith("data function p.data:batches: batch 1 gives " + str(got)), text
    assert "takes 2 (x, m)" in text and "((x, m), labels)" in text, text


def test_calibration_refuses_a_batch_with_another_number_of_inputs_naming_it():
    from quantbridge.torch import calibrate

    quant = optimize_model(TwoInputs(), all_int8(build_config(TwoInputs(), "x:1,1,8,8;m:1,1,8,8")))
    (x, _), y = _batches(1)[0]
    with pytest.raises(DataError) as exc:
        calibrate(quant, [(x, y)])
    text = str(exc.value)
    assert "\n" not in text and "batch 1" in text and "gives 1 model input(s)" in text, text
    assert "'x:1,1,8,8;m:1,1,8,8' has 2 (x, m)" in text and "((x, m), targets)" in text, text

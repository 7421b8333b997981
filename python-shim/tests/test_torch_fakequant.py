"""The fake-quant math against the numpy reference (= ONNX QuantizeLinear/DequantizeLinear)."""

import copy
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from quantbridge.common import qparams  # noqa: E402
from quantbridge.torch import ActivationFakeQuantize, WeightFakeQuantize, get_quant_loss, optimize_model  # noqa: E402
from quantbridge.torch import build_config  # noqa: E402

from conftest import all_int8  # noqa: E402


@pytest.fixture(autouse=True)
def _threads(torch_threads):
    torch.manual_seed(0)


@pytest.mark.parametrize("lo,hi", [(-2.0, 3.0), (0.0, 1.7), (-0.3, 0.05)])
def test_activation_eval_matches_numpy_reference_exactly(lo, hi):
    x = torch.randn(200_000) * 2.5  # many values outside [lo, hi]: saturation is covered
    aq = ActivationFakeQuantize()
    scale, zp = qparams.activation_qparams(lo, hi)
    aq.set_qparams(scale, zp)
    aq.eval()
    with torch.no_grad():
        got = aq(x).numpy()
    ref = qparams.fake_quant(x.numpy(), scale, zp, qparams.ACT_QMIN, qparams.ACT_QMAX)
    assert np.array_equal(got, ref)


def test_activation_round_half_to_even_and_saturation():
    aq = ActivationFakeQuantize().eval()
    aq.set_qparams(0.5, 10)
    x = torch.tensor([0.25, 0.75, -0.25, -4.75, -5.25, -100.0, 122.25, 122.75, 1e9])
    with torch.no_grad():
        got = aq(x).numpy()
    # x / 0.5: 0.5 -> 0, 1.5 -> 2, -0.5 -> 0, -9.5 -> -10, -10.5 -> -10, 244.5 -> 244 (ties to even);
    # 245.5 -> 246 and 1e9 saturate at q = 255
    assert got.tolist() == [0.0, 1.0, 0.0, -5.0, -5.0, -5.0, 122.0, 122.5, 122.5]
    assert np.array_equal(got, qparams.fake_quant(x.numpy(), 0.5, 10, 0, 255))


def test_activation_training_is_learnable_and_close_to_reference():
    aq = ActivationFakeQuantize().train()
    scale, zp = qparams.activation_qparams(-1.0, 2.0)
    aq.set_qparams(scale, zp)
    x = (torch.randn(50_000) * 1.5).requires_grad_()
    y = aq(x)
    ref = qparams.fake_quant(x.detach().numpy(), scale, zp, 0, 255)
    diff = np.abs(y.detach().numpy() - ref)
    assert diff.max() <= scale * 1.0001 and (diff > 0).mean() < 1e-4   # 1/scale vs /scale, last bit
    y.sum().backward()
    assert aq.scale.grad is not None and aq.scale.grad.abs().item() > 0
    lo, hi = -zp * scale, (255 - zp) * scale
    xn, grad = x.detach().numpy(), x.grad.numpy()
    assert np.all(grad[(xn > lo + scale) & (xn < hi - scale)] == 1.0)     # straight through inside
    assert np.all(grad[(xn < lo - scale) | (xn > hi + scale)] == 0.0)     # clipped outside


def test_uncalibrated_activation_takes_the_first_batch_range():
    aq = ActivationFakeQuantize().eval()
    x = torch.linspace(-1.0, 3.0, 101)
    with torch.no_grad():
        aq(x)
    assert aq.qparams()["calibrated"]
    assert (aq.qparams()["scale"], aq.qparams()["zero_point"]) == pytest.approx(qparams.activation_qparams(-1.0, 3.0))


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_calibration_uses_common_range_choice(method):
    aq = ActivationFakeQuantize(method=method)
    aq.enable_observer().disable_fake_quant()
    batches = [torch.randn(4000) * (1 + i) + 0.5 for i in range(3)]
    hist = qparams.HistogramObserver(2048)
    with torch.no_grad():
        for b in batches:
            assert torch.equal(aq(b), b)   # observing passes values through
            hist.update(b.numpy())
    aq.finish_calibration()
    lo = min(float(b.min()) for b in batches)
    hi = max(float(b.max()) for b in batches)
    expected = qparams.activation_qparams(*qparams.choose_range(method, lo, hi, hist, 99.99))
    assert aq.qparams()["scale"] == pytest.approx(expected[0], rel=1e-6)
    assert aq.qparams()["zero_point"] == expected[1]
    assert int(aq.fake_quant_enabled[0]) == 1 and int(aq.observer_enabled[0]) == 0


@pytest.mark.parametrize("shape,axis", [((16, 3, 3, 3), 0), ((16, 1, 3, 3), 0), ((10, 512), 0), ((8, 4, 2, 2), 1)])
def test_weight_matches_numpy_reference(shape, axis):
    w = torch.randn(shape)
    wq = WeightFakeQuantize(ch_axis=axis)
    with torch.no_grad():
        got = wq(w).numpy()
    scales = qparams.weight_qparams(np.abs(np.moveaxis(w.numpy(), axis, 0)).reshape(shape[axis], -1).max(axis=1))
    ref = qparams.fake_quant(w.numpy(), scales, np.zeros_like(scales), qparams.W_QMIN, qparams.W_QMAX, axis=axis)
    assert np.array_equal(got, ref)
    assert np.allclose(wq.calculate_qparams(w).numpy(), scales)
    # with autograd: the straight-through op gives the same grid (up to the last bit of 1/scale)
    wg = w.clone().requires_grad_()
    out = wq(wg)
    assert np.abs(out.detach().numpy() - ref).max() <= scales.max() * 1.0001
    out.sum().backward()
    assert torch.equal(wg.grad, torch.ones_like(w))


def test_weight_cache_follows_the_weight():
    w = torch.nn.Parameter(torch.randn(4, 3))
    wq = WeightFakeQuantize()
    with torch.no_grad():
        first = wq(w)
        assert wq(w) is first          # unchanged weight: cached
        w.mul_(2.0)                    # in-place change (optimizer step, load_state_dict)
        second = wq(w)
    assert second is not first and torch.allclose(second, first * 2)
    assert wq(w).requires_grad        # with autograd: never the cache


def test_quant_loss_is_the_relative_error_and_reaches_scales_and_clipped_inputs():
    net = torch.nn.Sequential(torch.nn.Linear(6, 5))
    quant = optimize_model(net, all_int8(build_config(net, "x:1,6")))
    layer = quant[0]
    layer.activation_quant.set_qparams(*qparams.activation_qparams(-1.0, 1.0))
    quant.train()
    x = (torch.randn(32, 6) * 2).requires_grad_()
    quant(x)
    loss = get_quant_loss(quant)
    w = layer.weight.detach().numpy()
    s = qparams.weight_qparams(np.abs(w).max(axis=1))
    w_err = ((w - qparams.fake_quant(w, s, np.zeros(5), -127, 127, axis=0)) ** 2).sum() / (w ** 2).sum()
    scale, zp = layer.activation_quant.qparams()["scale"], layer.activation_quant.qparams()["zero_point"]
    xn = x.detach().numpy()
    a_err = ((xn - qparams.fake_quant(xn, scale, zp, 0, 255)) ** 2).sum() / (xn ** 2).sum()
    assert float(loss) == pytest.approx(w_err + a_err, rel=1e-4)
    loss.backward()
    assert layer.activation_quant.scale.grad.abs().item() > 0
    assert layer.weight.grad.abs().sum().item() > 0
    scale_hi = (255 - zp) * scale
    clipped = ((xn < -zp * scale - scale / 2) | (xn > scale_hi + scale / 2))
    assert clipped.any() and np.all(x.grad.numpy()[clipped] != 0)
    assert np.all(x.grad.numpy()[~clipped & (np.abs(xn) < 0.9)] == 0)


def test_quant_model_can_be_copied_and_pickled_after_training_steps():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    quant = optimize_model(net, all_int8(build_config(net, "x:1,1,5,5")))
    quant.train()
    quant(torch.randn(2, 1, 5, 5)).sum().backward()
    clone = copy.deepcopy(quant)
    restored = pickle.loads(pickle.dumps(quant))
    x = torch.randn(3, 1, 5, 5)
    quant.eval(), clone.eval(), restored.eval()
    with torch.no_grad():
        assert torch.equal(quant(x), clone(x)) and torch.equal(quant(x), restored(x))

"""The fake-quant math against the numpy reference (= ONNX QuantizeLinear/DequantizeLinear)."""

import copy
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from quantbridge.common import qparams  # noqa: E402
from quantbridge.torch import ActivationFakeQuantize, WeightFakeQuantize, get_quant_loss, optimize_model  # noqa: E402
from quantbridge.torch import (build_config, cached_weights, calibrate, export_onnx, fake_quant_predict,  # noqa: E402
                               quant_params, set_calibrate_state)
from quantbridge.torch._modules import fake_quant_per_tensor  # noqa: E402

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
    with torch.no_grad(), cached_weights(wq):
        first = wq(w)
        assert wq(w) is first          # unchanged weight: cached inside cached_weights
        w.mul_(2.0)                    # in-place change (optimizer step, load_state_dict)
        second = wq(w)
        assert second is not first and torch.allclose(second, first * 2)
    assert wq._cache is None           # dropped when the block ends
    with torch.no_grad():
        assert wq(w) is not wq(w)      # outside a block: recomputed at every call
    assert wq(w).requires_grad        # with autograd: never the cache


def test_weight_change_through_data_is_seen_outside_cached_weights():
    """Pruning masks and EMA swaps write through ``.data``, which leaves ``_version`` alone."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 6 * 6, 2))
    quant = optimize_model(net, all_int8(build_config(net, "x:1,3,8,8")))
    x = torch.randn(4, 3, 8, 8)
    calibrate(quant, [x])
    quant.eval()
    with torch.no_grad():
        before = quant(x)
        version = quant[0].weight._version
        quant[0].weight.data.mul_(0.0)
        assert quant[0].weight._version == version       # invisible to a version-keyed cache
        after = quant(x)
    assert not torch.equal(before, after)
    with torch.no_grad():     # a zero conv weight leaves the bias: what the rest of the model makes of it
        assert torch.equal(after, quant[3](torch.relu(quant[0].bias).reshape(1, 4, 1, 1).expand(4, 4, 6, 6).flatten(1)))
    assert np.array_equal(fake_quant_predict(quant, x.numpy()), after.numpy())   # a QuantBridge pass: same result


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


# -- division on the quantizer's device (CUDA multiplies by the reciprocal of a Python scalar) -----
def test_division_by_a_device_tensor_is_bit_identical_on_cpu():
    x = torch.randn(300_000) * 3
    for scale in (0.1, 0.0123, 1.0 / 3.0, 0.007843137718737125, 2.5e-5):
        zp = 117
        old = torch.round_(x / scale).clamp_(0 - zp, 255 - zp).mul_(scale)      # the former formula
        assert torch.equal(fake_quant_per_tensor(x, scale, zp, 0, 255), old)
        assert np.array_equal(fake_quant_per_tensor(x, scale, zp, 0, 255).numpy(),
                              qparams.fake_quant(x.numpy(), scale, zp, 0, 255))
    w = torch.randn(64, 3, 3, 3) * torch.rand(64, 1, 1, 1)
    wq = WeightFakeQuantize()
    old_scales = (w.abs().amax(dim=(1, 2, 3)) / 127).clamp_min(qparams.weight_qparams(0.0).item())
    assert torch.equal(wq.calculate_qparams(w), old_scales)
    assert np.array_equal(wq.calculate_qparams(w).numpy(),
                          qparams.weight_qparams(np.abs(w.numpy()).max(axis=(1, 2, 3))))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fake_quant_is_onnx_exact():
    x = torch.randn(1_000_000) * 3
    aq = ActivationFakeQuantize().eval()
    scale, zp = qparams.activation_qparams(-2.0, 3.0)
    aq.set_qparams(scale, zp)
    with torch.no_grad():
        got = aq.cuda()(x.cuda()).cpu().numpy()
    assert np.array_equal(got, qparams.fake_quant(x.numpy(), scale, zp, 0, 255))
    w = torch.randn(256, 64, 3, 3) * torch.rand(256, 1, 1, 1)
    wq = WeightFakeQuantize()
    scales = qparams.weight_qparams(np.abs(w.numpy()).max(axis=(1, 2, 3)))
    assert np.array_equal(wq.calculate_qparams(w.cuda()).cpu().numpy(), scales)
    with torch.no_grad():
        got = wq(w.cuda()).cpu().numpy()
    assert np.array_equal(got, qparams.fake_quant(w.numpy(), scales, np.zeros_like(scales), -127, 127, axis=0))


# -- set_calibrate_state(False) is idempotent ---------------------------------------------------------
def _scales(quant):
    return [float(m.scale) for m in quant.modules() if isinstance(m, ActivationFakeQuantize)]


def test_finishing_calibration_again_keeps_percentile_and_learned_scales():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2))
    cfg = all_int8(build_config(net, "x:1,3,8,8"))
    cfg["quantbridge"] = {"calibration": {"method": "percentile", "percentile": 99.0}}
    quant = optimize_model(net, cfg)
    g = torch.Generator().manual_seed(0)
    quant.eval()
    set_calibrate_state(quant, True)
    with torch.no_grad():
        for _ in range(4):
            quant(torch.randn(16, 3, 8, 8, generator=g))
    set_calibrate_state(quant, False)
    calibrated = _scales(quant)
    minmax = [float(qparams.activation_qparams(float(m.min_val), float(m.max_val))[0])
              for m in quant.modules() if isinstance(m, ActivationFakeQuantize)]
    assert all(c < 0.9 * m for c, m in zip(calibrated, minmax))     # percentile clips: not min/max
    set_calibrate_state(quant, False)                               # "make sure calibration is off"
    assert _scales(quant) == calibrated
    quant.train()                                                   # QAT moves the scales (LSQ)
    opt = torch.optim.SGD(quant.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        quant(torch.randn(16, 3, 8, 8, generator=g)).pow(2).mean().backward()
        opt.step()
    learned = _scales(quant)
    assert learned != calibrated
    set_calibrate_state(quant, False)
    assert _scales(quant) == learned
    assert all(int(m.fake_quant_enabled[0]) == 1 and int(m.observer_enabled[0]) == 0
               for m in quant.modules() if isinstance(m, ActivationFakeQuantize))


# -- a learned scale driven to or below 0 is saved and exported at the forward pass's floor ----------
def test_scale_below_the_floor_is_saved_and_reported_at_the_floor():
    from quantbridge.torch._modules import _EPS

    net = torch.nn.Sequential(torch.nn.Linear(6, 5))
    quant = optimize_model(net, all_int8(build_config(net, "x:1,6")))
    aq = quant[0].activation_quant
    aq.set_qparams(0.02, 128)
    with torch.no_grad():
        aq.scale.fill_(-0.01)                 # what an overshooting last optimizer step leaves
    state = quant.state_dict()
    assert float(state["0.activation_quant.scale"]) == _EPS and float(aq.scale) < 0   # the model itself is left alone
    assert quant_params(quant)[0]["activation"]["scale"] == _EPS
    x = torch.randn(8, 6) * 1e-5
    other = optimize_model(torch.nn.Sequential(torch.nn.Linear(6, 5)), all_int8(build_config(net, "x:1,6")))
    other.load_state_dict(state)
    assert np.array_equal(fake_quant_predict(quant, x.numpy()), fake_quant_predict(other, x.numpy()))
    ref = qparams.fake_quant(x.numpy(), _EPS, 128, 0, 255)
    with torch.no_grad():
        assert np.array_equal(aq.eval()(x).numpy(), ref)   # eval uses the floor, as training does


def test_exported_activation_scale_is_positive_after_a_scale_went_negative(workdir):
    net = torch.nn.Sequential(torch.nn.Linear(6, 5))
    cfg = all_int8(build_config(net, "x:1,6"))
    quant = optimize_model(net, cfg)
    calibrate(quant, [torch.randn(8, 6)])
    with torch.no_grad():
        quant[0].activation_quant.scale.fill_(-1e-3)
    fresh = torch.nn.Sequential(torch.nn.Linear(6, 5))
    fresh.load_state_dict(net.state_dict(), strict=False)
    out = export_onnx(fresh, cfg, quant.state_dict(), "./")
    assert out["layers"][0]["activation"]["scale"] > 0


# -- get_quant_loss uses the current forward pass only, and holds no inputs after backward -----------
class _Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 6)
        self.b = torch.nn.Linear(6, 6)

    def forward(self, x, use_b=True):
        y = torch.relu(self.a(x))
        return self.b(y) if use_b else y


def test_quant_loss_skips_a_layer_that_did_not_run_in_this_forward_pass():
    net = _Branchy()
    quant = optimize_model(net, all_int8(build_config(net, "x:1,6")))
    calibrate(quant, [torch.randn(16, 6)])
    quant.train()
    opt = torch.optim.SGD(quant.parameters(), lr=1e-3)
    x = torch.randn(16, 6)
    opt.zero_grad()
    (quant(x, True).pow(2).mean() + get_quant_loss(quant)).backward()      # both layers ran
    opt.step()
    quantizers = [quant.a.activation_quant, quant.b.activation_quant]
    assert all(q._last == [] for q in quantizers)        # released by the backward pass
    opt.zero_grad()
    out = quant(x, False)                                 # the branch with b is not taken
    assert quant.b.activation_quant.quant_error() is None
    loss = get_quant_loss(quant)
    expected = (quant.a.weight_quant.quant_error(quant.a.weight) + quant.b.weight_quant.quant_error(quant.b.weight)
                + quant.a.activation_quant.quant_error())
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)
    (out.pow(2).mean() + loss).backward()                # a stale term would backward through a freed graph
    assert all(q._last == [] for q in quantizers)


def test_quant_loss_of_a_shared_layer_covers_every_call_and_keeps_no_older_step():
    class Twice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(6, 6)

        def forward(self, x):
            return self.fc(3.0 * torch.relu(self.fc(x)))

    net = Twice()
    quant = optimize_model(net, all_int8(build_config(net, "x:1,6")))
    calibrate(quant, [torch.randn(16, 6)])
    quant.train()
    aq = quant.fc.activation_quant
    quant(torch.randn(16, 6))                            # a forward pass without backward or loss
    x = torch.randn(16, 6)
    quant(x)
    assert len(aq._last) == 2                            # this pass's two calls, not the earlier pass's
    (x1, y1), (x2, y2) = aq._last
    assert torch.equal(x1, x)
    want = ((x1 - y1).pow(2).sum() + (x2 - y2).pow(2).sum()) / (x1.pow(2).sum() + x2.pow(2).sum())
    assert float(aq.quant_error()) == pytest.approx(float(want), rel=1e-6)
    get_quant_loss(quant).backward()
    assert aq._last == []

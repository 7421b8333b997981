"""Synchronized calibration and DDP retraining on 2 CPU ranks (gloo), started by torch's launcher.

Every scenario runs ``dist_worker.py`` under torch.distributed.run (``quantbridge.torch._launch``) on localhost
with a free port and a bounded timeout; the ranks write what they hold, and the tests compare
it with one process calibrating on the union of the ranks' batches.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import all_int8  # noqa: E402
from quantbridge.common import qparams  # noqa: E402
from quantbridge.examples import digits_torch  # noqa: E402
from quantbridge.torch import (build_config, calibrate, fake_quant_predict, optimize_model,  # noqa: E402
                               quant_params)
from quantbridge.torch import _distributed  # noqa: E402

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dist_worker.py")
TIMEOUT_S = 300


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(scenario, out, pth, nproc=2):
    cmd = [sys.executable, "-m", "quantbridge.torch._launch", "--nproc_per_node", str(nproc), "--master_addr",
           "127.0.0.1", "--master_port", str(free_port()), "--monitor_interval", "1", WORKER, scenario, str(out),
           str(pth)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    ranks = []
    for r in range(nproc):
        with open(os.path.join(out, f"rank{r}.json")) as fh:
            ranks.append(json.load(fh))
    return ranks


@pytest.fixture(scope="module")
def float_pth(tmp_path_factory, digits_float):
    path = tmp_path_factory.mktemp("dist") / "float.pth"
    torch.save(digits_float[0], path)
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, float_pth):
    out = tmp_path_factory.mktemp("calib")
    return out, launch("calibrate", out, float_pth)


def single_process(float_pth, method):
    """One process calibrating on the union of the ranks' batches (rank 0's share, then rank 1's)."""
    model = digits_torch.build_model()
    model.load_state_dict(torch.load(float_pth))
    qm = optimize_model(model, all_int8(build_config(model, digits_torch.INPUT_SHAPE), method))
    batches = digits_torch.calibration_batches()
    calibrate(qm, batches[0::2] + batches[1::2])
    return qm


def activations(params):
    return [(p["activation"]["scale"], p["activation"]["zero_point"], p["activation"]["min"], p["activation"]["max"])
            for p in params if "activation" in p]


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_ranks_end_calibration_with_bit_identical_state(calibrated, method):
    out, ranks = calibrated
    assert [r["info"]["world_size"] for r in ranks] == [2, 2] and ranks[0]["info"]["backend"] == "gloo"
    assert ranks[0][method]["digest"] == ranks[1][method]["digest"]       # every byte of the state
    assert ranks[0][method]["params"] == ranks[1][method]["params"]
    a = torch.load(os.path.join(out, f"{method}_rank0.pth"))
    b = torch.load(os.path.join(out, f"{method}_rank1.pth"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_minmax_scales_are_those_of_one_process_on_the_union(calibrated, float_pth):
    _, ranks = calibrated
    single = quant_params(single_process(float_pth, "minmax"))
    assert activations(ranks[0]["minmax"]["params"]) == activations(single)      # bit for bit
    assert len(activations(single)) == 4


def test_percentile_scales_match_one_process_within_two_bins(calibrated, float_pth):
    """The merged histogram differs from one process's only in how re-binning split counts: a
    percentile range lies within two bins of one process's at either end."""
    _, ranks = calibrated
    qm = single_process(float_pth, "percentile")
    single = activations(quant_params(qm))
    merged = activations(ranks[0]["percentile"]["params"])
    bins = 2048
    worst = 0.0
    for (s1, *_), (s2, *_), quantizer in zip(merged, single,
                                              [m for m in qm.modules() if hasattr(m, "observer_enabled")]):
        width = (float(quantizer.max_val) - min(float(quantizer.min_val), 0.0)) / bins
        # each end within two bins, so the scale within four bins / 255 (and float32 rounding)
        assert abs(s1 - s2) <= 4 * width / 255 + 1e-6 * s2, ("percentile", s1, s2, width)
        worst = max(worst, abs(s1 - s2) * 255 / width)
    print(f"quantbridge dist: percentile merged vs one process: scales differ by at most {worst:.3f} bins / 255")


def test_mse_ranges_are_as_good_as_one_process_on_its_histogram(calibrated, float_pth, monkeypatch):
    """mse minimises a flat error curve over 100 candidate ranges, so re-binning may move the
    choice by a candidate or two in a near tie (one process on this project's AVX2 machine chose a
    range 2 % wider than the merge). What must hold is the criterion itself: measured on the one
    process's own histogram, the merged range's expected squared error is within 1 % of the best
    that process found."""
    from quantbridge.torch import _modules
    kept = {}
    choose = _modules.ActivationFakeQuantize.calculate_qparams

    def keeping(self):
        kept[id(self)] = self.histogram        # finish_calibration drops it after this call
        return choose(self)
    monkeypatch.setattr(_modules.ActivationFakeQuantize, "calculate_qparams", keeping)
    _, ranks = calibrated
    qm = single_process(float_pth, "mse")
    single = activations(quant_params(qm))
    merged = activations(ranks[0]["mse"]["params"])
    quantizers = [m for m in qm.modules() if hasattr(m, "observer_enabled")]
    assert len(merged) == len(single) == len(quantizers) == 4
    worst = 0.0
    for (s1, z1, *_), (s2, z2, *_), quantizer in zip(merged, single, quantizers):
        h = kept[id(quantizer)]
        width = (h.hi - h.lo) / h.bins
        centres = h.lo + (np.arange(h.bins) + 0.5) * width

        def error(scale, zero_point):
            q = qparams.fake_quant(centres, scale, zero_point, quantizer.quant_min, quantizer.quant_max)
            return float(np.sum(h.counts * (centres - q) ** 2))
        ratio = error(s1, z1) / error(s2, z2)
        assert ratio <= 1.01, ("mse", s1, s2, ratio)
        worst = max(worst, ratio - 1)
    print(f"quantbridge dist: mse merged vs one process: expected error at most {100 * worst:.3f} % above its best")


def test_merge_of_histograms_equals_one_histogram_over_a_common_range():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 5000), rng.normal(0.5, 2, 5000)
    ha, hb = qparams.HistogramObserver(256), qparams.HistogramObserver(256)
    ha.update(a)
    hb.update(b)
    merged = qparams.merge_histograms([ha, None, hb])
    assert merged.lo == min(ha.lo, hb.lo) and merged.hi == max(ha.hi, hb.hi)
    assert merged.counts.sum() == pytest.approx(10000)
    # the range of the first already spans the union: its counts are copied, not re-binned
    wide = qparams.HistogramObserver(256)
    wide.update(np.concatenate([a, b]))
    assert qparams.merge_histograms([wide]).counts.tolist() == wide.counts.tolist()
    assert qparams.merge_histograms([None, None]) is None


def test_without_a_process_group_nothing_is_synchronized(digits_model):
    assert not _distributed.active()
    qm = optimize_model(digits_model, all_int8(build_config(digits_model, digits_torch.INPUT_SHAPE)))
    assert _distributed.sync_observers(qm) == 0
    assert _distributed.reduce_range(-1.5, 2.0) == (-1.5, 2.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, float_pth):
    out = tmp_path_factory.mktemp("qat")
    return out, launch("qat", out, float_pth)


def test_ddp_training_keeps_ranks_identical_after_every_step(trained):
    _, ranks = trained
    assert len(ranks[0]["digests"]) == 13
    assert ranks[0]["digests"] == ranks[1]["digests"]      # every parameter, bit for bit, after every step
    assert ranks[0]["scales"] == ranks[1]["scales"]
    first, last = np.array(ranks[0]["scales"][0]), np.array(ranks[0]["scales"][-1])
    assert np.any(first != last)                           # the learned scales moved
    assert len(set(ranks[0]["digests"])) == 13             # and the state changed at every step


def test_export_of_the_two_rank_run_agrees_with_the_fake_quant_model(trained):
    from test_torch_export import _check_structure, _qdq, _run

    out, ranks = trained
    with open(out / "dist_quant_param.json") as fh:
        params = json.load(fh)
    model = _check_structure(str(out / "dist.onnx"), params, digits_torch.INPUT_SHAPE)
    quant = optimize_model(digits_torch.build_model(), all_int8(build_config(digits_torch.build_model(),
                                                                             digits_torch.INPUT_SHAPE), "minmax"))
    quant.load_state_dict(torch.load(out / "trained.pth"))
    assert quant_params(quant) == ranks[0]["params"]
    x = digits_torch.test_inputs()
    qdq = _run(_qdq(model, params), {"x": x})[0]
    fq = fake_quant_predict(quant, x)
    agree = float((qdq.argmax(1) == fq.argmax(1)).mean())
    print(f"quantbridge dist: 2-rank QAT export agrees with the fake-quant model on {agree * 100:.2f}% of "
          f"{len(x)} test images; accuracy {float((fq.argmax(1) == digits_torch.test_labels()).mean()) * 100:.2f}%")
    assert agree >= 0.99


def test_ddp_from_uncalibrated_quantizers_starts_every_rank_from_the_same_range(tmp_path, float_pth):
    ranks = launch("qat_uncalibrated", tmp_path, float_pth)
    assert ranks[0]["digests"] == ranks[1]["digests"]
    assert ranks[0]["scales"] == ranks[1]["scales"]

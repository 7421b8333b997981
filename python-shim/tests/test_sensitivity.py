"""Automatic mixed precision on a model with one DELIBERATELY FRAGILE layer (real torch and TF).

The model: an MLP 64 -> 64 -> 64 -> 10 on scikit-learn's digits (trained by scikit-learn, so both
frameworks get the same weights). Then one hidden unit of ``fc1`` is scaled up by ``OUTLIER``
(its weights and bias) and the matching input column of ``fc2`` scaled down by the same factor.
ReLU is positively homogeneous, so the float model computes the same function; but ``fc2``'s
input now holds a channel with enormous values: min-max calibration stretches its uint8 range
over them and every other channel rounds to zero or one step. Quantizing ``fc2`` (alone or with
the others) destroys the model; ``fc1`` and ``fc3`` are harmless. Run with ``-s`` for the numbers.
"""

import math
import warnings

import numpy as np
import pytest

from quantbridge import sensitivity as sens
from quantbridge.errors import ConfigError, ModelError, QuantBridgeError

INT8 = "Quant_INT8-8"
OUTLIER = 1000.0
MAX_DROP = 0.5          # accuracy points below float
MIN_SQNR = 25.0         # dB
TORCH_FRAGILE = "fc2/MatMul"
TF_FRAGILE = "fc2/MatMul"


# -- the fragile model's weights (framework-free) -----------------------------------------------------
@pytest.fixture(scope="module")
def fragile():
    """``{"weights": [(W [in, out], b)] x 3, "x_train", "x_test", "y_test", "unit"}`` (float32)."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=360, stratify=digits.target,
                                                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((64, 64), max_iter=200, random_state=0).fit(x_train, y_train)
    weights = [(w.astype(np.float32).copy(), b.astype(np.float32).copy())
               for w, b in zip(mlp.coefs_, mlp.intercepts_)]
    hidden = np.maximum(x_train @ weights[0][0] + weights[0][1], 0.0)
    unit = int(np.argmax(hidden.mean(axis=0)))        # an active unit: its outliers reach fc2
    weights[0][0][:, unit] *= OUTLIER
    weights[0][1][unit] *= OUTLIER
    weights[1][0][unit, :] /= OUTLIER
    return {"weights": weights, "x_train": x_train, "x_test": x_test, "y_test": y_test, "unit": unit,
            "sklearn_acc": 100.0 * mlp.score(x_test, y_test)}


def _batches(x, size=64, count=4):
    order = np.random.default_rng(0).permutation(len(x))[:size * count]
    return [x[order[i:i + size]] for i in range(0, len(order), size)]


def _show(title, results, selection):
    print(f"\n{title}: float {results['float']}, all int8 {results['quantized']}")
    for entry in results["layers"]:
        print(f"  {entry['name']:<14} only this int8 {entry['only_this']}  all but this {entry['all_but_this']}")
    print(f"  chosen float: {selection['float_layers']} met={selection['met']} {selection['metrics']} "
          f"({selection['measured']} extra measurements)")


def _only(results, name):
    return next(e for e in results["layers"] if e["name"] == name)


# -- the search, framework-free ---------------------------------------------------------------------
class FakeModel:
    """Accuracy = 98 minus the damage of every quantized layer (damage interacts: a and b together
    are worse than their sum), so the search must measure rather than add."""

    LAYERS = ["a", "b", "c", "d"]
    DAMAGE = {"a": 0.3, "b": 0.4, "c": 30.0, "d": 0.1}

    def __init__(self):
        self.calls = []

    def measure(self, float_layers):
        self.calls.append(list(float_layers))
        quantized = [n for n in self.LAYERS if n not in float_layers]
        damage = sum(self.DAMAGE[n] for n in quantized)
        if "a" in quantized and "b" in quantized:
            damage += 0.5
        return {"sqnr_db": 40.0 - damage, "eval": 98.0 - damage}

    def results(self):
        names = self.LAYERS
        layers = [{"name": n, "op_type": "MatMul", "only_this": self.measure([m for m in names if m != n]),
                   "all_but_this": self.measure([n])} for n in names]
        out = {"layers": layers, "float": self.measure(names), "quantized": self.measure([])}
        self.calls.clear()
        return out


def test_select_greedy_measures_and_prunes():
    model = FakeModel()
    selection = sens.select_float_layers(model.results(), {"max_drop": 0.5}, model.measure)
    # c alone leaves 1.3 points (a and b interact); then b (measured: 0.4 left) beats a (0.5 left),
    # though an additive estimate from the single-layer table would rank them the other way round.
    assert selection["float_layers"] == ["b", "c"]
    assert selection["met"] is True
    assert selection["metrics"]["eval"] == pytest.approx(98.0 - 0.4)
    assert selection["measured"] == len(model.calls) > 0
    assert all("c" in call for call in model.calls)          # every re-measure starts from the chosen c


def test_select_sqnr_target_and_nothing_needed():
    model = FakeModel()
    results = model.results()
    assert sens.select_float_layers(results, {"min_sqnr_db": 8.0}, model.measure)["float_layers"] == []
    chosen = sens.select_float_layers(results, {"min_sqnr_db": 39.0}, model.measure, search="ranked")
    assert chosen["met"] and "c" in chosen["float_layers"]
    assert sens.meets_target(chosen["metrics"], {"min_sqnr_db": 39.0}, results["float"])


def test_select_reports_an_unreachable_target():
    model = FakeModel()
    selection = sens.select_float_layers(model.results(), {"min_sqnr_db": 45.0}, model.measure)  # float: 40 dB
    assert selection["met"] is False
    assert selection["float_layers"] == FakeModel.LAYERS
    assert "even with all" in selection["note"]


def test_select_needs_measure_beyond_the_table():
    model = FakeModel()
    with pytest.raises(ConfigError, match="needs measure"):
        sens.select_float_layers(model.results(), {"max_drop": 0.1})


def test_select_drop_target_needs_eval():
    model = FakeModel()
    results = model.results()
    for metrics in [results["float"], results["quantized"]] + [e["all_but_this"] for e in results["layers"]]:
        metrics["eval"] = None
    with pytest.raises(ConfigError, match="needs the evaluation metric"):
        sens.select_float_layers(results, {"max_drop": 1.0}, model.measure)


@pytest.mark.parametrize("target", [{}, {"max_drop": 1, "min_sqnr_db": 3}, {"max_drop": -1},
                                    {"min_sqnr": 3}, {"max_drop": "x"}, {"min_sqnr_db": math.inf}, [0.5]])
def test_bad_targets(target):
    with pytest.raises(ConfigError, match="target"):
        sens.parse_target(target)


def test_config_with_float_copies():
    cfg = {"layer_strategy": {"a": {"op_type": "MatMul", "quant_strategy": INT8}}}
    out = sens.config_with_float(cfg, ["a"])
    assert out["layer_strategy"]["a"]["quant_strategy"] == "float"
    assert cfg["layer_strategy"]["a"]["quant_strategy"] == INT8
    with pytest.raises(ConfigError, match="not in the config"):
        sens.config_with_float(cfg, ["b"])


# -- PyTorch ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch_mlp(fragile):
    """A factory of fresh float torch models with the fragile weights, and the eval function."""
    import torch
    from torch import nn

    torch.set_num_threads(2)

    class FragileMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(64, 64), nn.Linear(64, 64), nn.Linear(64, 10)

        def forward(self, x):
            x = torch.relu(self.fc1(torch.flatten(x, 1)))
            return self.fc3(torch.relu(self.fc2(x)))

    def build():
        model = FragileMLP()
        with torch.no_grad():
            for layer, (w, b) in zip((model.fc1, model.fc2, model.fc3), fragile["weights"]):
                layer.weight.copy_(torch.from_numpy(w.T.copy()))
                layer.bias.copy_(torch.from_numpy(b))
        return model.eval()

    x_test, y_test = torch.from_numpy(fragile["x_test"]), fragile["y_test"]

    def accuracy(model):
        with torch.no_grad():
            return float((model(x_test).argmax(1).numpy() == y_test).mean() * 100.0)

    return build, accuracy


@pytest.fixture
def torch_quant(torch_mlp, fragile):
    """A calibrated all-int8 quant model of the fragile MLP, and the batches."""
    import quantbridge.torch as qt

    build, _ = torch_mlp
    model = build()
    cfg = qt.build_config(model, "x:1,64")
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = INT8
    quant = qt.optimize_model(model, cfg)
    batches = _batches(fragile["x_train"])
    qt.calibrate(quant, batches)
    return quant, batches


def _flags(quant):
    from quantbridge.torch._modules import ActivationFakeQuantize, WeightFakeQuantize

    out = []
    for name, module in quant.named_modules():
        if isinstance(module, ActivationFakeQuantize):
            out.append((name, int(module.fake_quant_enabled[0]), int(module.observer_enabled[0])))
        elif isinstance(module, WeightFakeQuantize):
            out.append((name, int(module.fake_quant_enabled[0])))
    return out


def test_torch_float_model_is_unchanged_by_the_reparametrisation(torch_mlp, fragile):
    _, accuracy = torch_mlp
    assert accuracy(torch_mlp[0]()) == pytest.approx(fragile["sklearn_acc"], abs=0.3)


def test_torch_sensitivity_finds_the_fragile_layer(torch_mlp, torch_quant):
    _, accuracy = torch_mlp
    quant, batches = torch_quant
    out = sens.torch_select(quant, batches, {"max_drop": MAX_DROP}, eval_fn=accuracy)
    results, selection = out["sensitivity"], out["selection"]
    _show("torch, max_drop", results, selection)
    assert [e["name"] for e in results["layers"]] == ["fc1/MatMul", "fc2/MatMul", "fc3/MatMul"]
    assert results["float"]["sqnr_db"] == math.inf
    assert results["quantized"]["eval"] < 50.0                       # all int8: destroyed
    fragile_entry = _only(results, TORCH_FRAGILE)
    assert fragile_entry["only_this"]["eval"] < 50.0                  # fc2 alone destroys it
    assert fragile_entry["all_but_this"]["sqnr_db"] > 25.0            # everything else is fine
    for entry in results["layers"]:
        if entry["name"] != TORCH_FRAGILE:
            assert entry["only_this"]["sqnr_db"] > 25.0
            assert entry["all_but_this"]["eval"] < 50.0
    assert selection["float_layers"] == [TORCH_FRAGILE]
    assert selection["met"] is True
    assert results["float"]["eval"] - selection["metrics"]["eval"] <= MAX_DROP
    assert out["config"]["layer_strategy"][TORCH_FRAGILE]["quant_strategy"] == "float"
    assert out["config"]["layer_strategy"]["fc1/MatMul"]["quant_strategy"] == INT8


def test_torch_sqnr_target_without_eval(torch_quant):
    quant, batches = torch_quant
    out = sens.torch_select(quant, batches, {"min_sqnr_db": MIN_SQNR}, max_batches=2)
    _show("torch, min_sqnr", out["sensitivity"], out["selection"])
    assert out["sensitivity"]["batches"] == 2 and out["sensitivity"]["has_eval"] is False
    assert out["selection"]["float_layers"] == [TORCH_FRAGILE]
    assert out["selection"]["metrics"]["sqnr_db"] >= MIN_SQNR
    assert out["selection"]["metrics"]["eval"] is None


def test_torch_state_is_restored(torch_mlp, torch_quant):
    import torch

    import quantbridge.torch as qt

    _, accuracy = torch_mlp
    quant, batches = torch_quant
    quant.fc3.activation_quant.disable_fake_quant()          # an unusual state must come back as it was
    quant.train()
    flags = _flags(quant)
    state = {k: v.clone() for k, v in quant.state_dict().items()}
    before = qt.fake_quant_predict(quant, batches[0])
    sens.torch_sensitivity(quant, batches, eval_fn=accuracy)
    assert _flags(quant) == flags and quant.training
    after = quant.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    np.testing.assert_array_equal(qt.fake_quant_predict(quant, batches[0]), before)

    def broken(model):
        raise RuntimeError("user eval failed")

    with pytest.raises(RuntimeError, match="user eval failed"):
        sens.torch_sensitivity(quant, batches, eval_fn=broken)
    assert _flags(quant) == flags and quant.training


def test_torch_evaluate_with_float_matches_the_table(torch_mlp, torch_quant):
    _, accuracy = torch_mlp
    quant, batches = torch_quant
    results = sens.torch_sensitivity(quant, batches, eval_fn=accuracy)
    again = sens.evaluate_with_float(quant, [TORCH_FRAGILE], batches, eval_fn=accuracy)
    assert again == _only(results, TORCH_FRAGILE)["all_but_this"]
    with pytest.raises(ConfigError, match="not quantized layers"):
        sens.evaluate_with_float(quant, ["nope/MatMul"], batches)


def test_torch_eval_may_return_a_dict_with_accuracy(torch_mlp, torch_quant):
    _, accuracy = torch_mlp
    quant, batches = torch_quant
    as_dict = sens.torch_sensitivity(quant, batches, eval_fn=lambda m: {"accuracy": accuracy(m), "loss": 0.1},
                                     max_batches=1)
    as_number = sens.torch_sensitivity(quant, batches, eval_fn=accuracy, max_batches=1)
    assert as_dict == as_number
    for bad in ({"acc": 1.0}, "97", None, float("nan")):
        with pytest.raises(QuantBridgeError, match="expected a number .the accuracy. or a dict with an 'accuracy'"):
            sens.torch_sensitivity(quant, batches, eval_fn=lambda m, bad=bad: bad, max_batches=1)


def test_torch_analyze_calls_the_data_function_with_its_arguments(torch_quant, monkeypatch):
    import sys
    import types

    quant, batches = torch_quant
    seen = {}

    def data(count=1):
        seen["count"] = count
        return iter(batches[:count])          # a generator-like iterable without len()

    monkeypatch.setitem(sys.modules, "qb_test_data", types.SimpleNamespace(data=data))
    out = sens.torch_analyze(quant, "qb_test_data:data", {"min_sqnr_db": MIN_SQNR}, data_kwargs={"count": 3},
                             max_batches=2)
    assert seen == {"count": 3} and out["sensitivity"]["batches"] == 2
    monkeypatch.setitem(sys.modules, "qb_test_data", types.SimpleNamespace(data=lambda: 42))
    with pytest.raises(QuantBridgeError, match="expected an iterable of batches"):
        sens.torch_analyze(quant, "qb_test_data:data", {"min_sqnr_db": MIN_SQNR})


def test_torch_refusals(torch_mlp, fragile):
    import quantbridge.torch as qt

    build, _ = torch_mlp
    cfg = qt.build_config(build(), "x:1,64")
    cfg["layer_strategy"]["fc1/MatMul"]["quant_strategy"] = INT8
    quant = qt.optimize_model(build(), cfg)
    with pytest.raises(ModelError, match="not calibrated"):
        sens.torch_sensitivity(quant, _batches(fragile["x_train"]))
    with pytest.raises(ModelError, match="no quantized layer"):
        sens.torch_sensitivity(build(), _batches(fragile["x_train"]))
    qt.calibrate(quant, _batches(fragile["x_train"]))
    with pytest.raises(ConfigError, match="needs eval_fn"):
        sens.torch_select(quant, _batches(fragile["x_train"]), {"max_drop": 1.0})


# -- TensorFlow ------------------------------------------------------------------------------------------
_TF_WEIGHTS = {}


def build_tf_mlp():
    """The graph builder (``test_sensitivity:build_tf_mlp``): the MLP with zero-initialised variables."""
    import tensorflow as tf

    x = tf.compat.v1.placeholder(tf.float32, [None, 64], name="x")
    h = x
    for i, width in enumerate((64, 64, 10), 1):
        with tf.compat.v1.variable_scope(f"fc{i}"):
            w = tf.compat.v1.get_variable("kernel", [h.shape[1], width], initializer=tf.compat.v1.zeros_initializer())
            b = tf.compat.v1.get_variable("bias", [width], initializer=tf.compat.v1.zeros_initializer())
            h = tf.nn.bias_add(tf.matmul(h, w, name="MatMul"), b)
        if i < 3:
            h = tf.nn.relu(h)
    logits = tf.identity(h, name="logits")
    return {"input": x.name, "output": logits.name}


def tf_accuracy(sess, info, quant_flag=None, is_train_flag=False):
    """The user's evaluation, as the project commands call it: top-1 % on the test split, feeding
    the vendor's two flags (``info`` names their placeholders) when given."""
    graph = sess.graph
    feed = {graph.get_tensor_by_name(info["input"]): _TF_WEIGHTS["x_test"]}
    if quant_flag is not None:
        feed[graph.get_tensor_by_name(info["quant_flag"])] = quant_flag
        feed[graph.get_tensor_by_name(info["is_train_flag"])] = bool(is_train_flag)
    logits = sess.run(graph.get_tensor_by_name(info["output"]), feed_dict=feed)
    return {"accuracy": float((logits.argmax(1) == _TF_WEIGHTS["y_test"]).mean() * 100.0), "samples": len(logits)}


@pytest.fixture(scope="module")
def tf_ckpt(fragile, tmp_path_factory):
    """The float checkpoint of the fragile MLP, and the all-int8 config."""
    tf = pytest.importorskip("tensorflow")
    import quantbridge.tf as qtf

    tf.compat.v1.disable_v2_behavior()
    _TF_WEIGHTS.update(x_test=fragile["x_test"], y_test=fragile["y_test"])
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        build_tf_mlp()
        sess.run(tf.compat.v1.global_variables_initializer())
        for i, (w, b) in enumerate(fragile["weights"], 1):
            for name, value in (("kernel", w), ("bias", b)):
                var = next(v for v in tf.compat.v1.global_variables() if v.op.name == f"fc{i}/{name}")
                var.load(value, sess)
        cfg = qtf.build_config(sess)
        ckpt = tf.compat.v1.train.Saver().save(sess, str(tmp_path_factory.mktemp("fragile_tf") / "float.ckpt"))
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = INT8
    return ckpt, cfg


def test_tf_sensitivity_finds_the_fragile_layer(tf_ckpt, fragile):
    ckpt, cfg = tf_ckpt
    builder = f"{__name__}:build_tf_mlp"
    out = sens.tf_select(builder, cfg, ckpt, _batches(fragile["x_train"]), "x:0", ["logits"],
                         {"max_drop": MAX_DROP}, eval_fn=tf_accuracy, calib_batches=2)
    results, selection = out["sensitivity"], out["selection"]
    _show("tensorflow, max_drop", results, selection)
    assert [e["name"] for e in results["layers"]] == ["fc1/MatMul", "fc2/MatMul", "fc3/MatMul"]
    assert results["float"]["eval"] == pytest.approx(fragile["sklearn_acc"], abs=0.3)
    assert results["quantized"]["eval"] < 50.0
    assert _only(results, TF_FRAGILE)["only_this"]["eval"] < 50.0
    assert _only(results, TF_FRAGILE)["all_but_this"]["sqnr_db"] > 25.0
    assert selection["float_layers"] == [TF_FRAGILE] and selection["met"] is True
    assert results["float"]["eval"] - selection["metrics"]["eval"] <= MAX_DROP
    assert out["config"]["layer_strategy"][TF_FRAGILE]["quant_strategy"] == "float"
    assert cfg["layer_strategy"][TF_FRAGILE]["quant_strategy"] == INT8         # the input is not changed
    # Re-measuring one configuration alone gives the table's number (fresh graphs are deterministic).
    again = sens.tf_evaluate_with_float(builder, cfg, ckpt, [TF_FRAGILE], _batches(fragile["x_train"]), "x:0",
                                        ["logits"], calib_batches=2)
    assert again["sqnr_db"] == pytest.approx(_only(results, TF_FRAGILE)["all_but_this"]["sqnr_db"], abs=1e-6)


def test_tf_checks_the_tensor_names(tf_ckpt, fragile):
    ckpt, cfg = tf_ckpt
    with pytest.raises(ModelError, match="output node 'nope' is not in the graph"):
        sens.tf_sensitivity(f"{__name__}:build_tf_mlp", cfg, ckpt, _batches(fragile["x_train"]), "x:0", ["nope"])


def test_tf_refuses_a_config_without_candidates(tf_ckpt, fragile):
    ckpt, cfg = tf_ckpt
    none = sens.config_with_float(cfg, list(cfg["layer_strategy"]))
    with pytest.raises(ConfigError, match="quantizes no layer"):
        sens.tf_sensitivity(f"{__name__}:build_tf_mlp", none, ckpt, _batches(fragile["x_train"]), "x:0", ["logits"])

"""TensorFlow calibration over shards: each "process" (its own graph and session) calibrates on
its shard, and merging every shard's statistics gives the ranges of one session calibrating on
the union: bit for bit for minmax, within two histogram bins at either end for percentile, and for
mse the same candidate range or its neighbour (1 % of the range away) when two nearly tie."""

import json

import pytest

tf = pytest.importorskip("tensorflow")

from quantbridge.errors import ModelError  # noqa: E402


@pytest.fixture(scope="module")
def ex():
    tf.compat.v1.disable_v2_behavior()
    from quantbridge.examples import digits_tf
    return digits_tf


@pytest.fixture(scope="module")
def float_ckpt(ex, tmp_path_factory):
    work = tmp_path_factory.mktemp("tfmerge")
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        tf.compat.v1.set_random_seed(0)
        ex.build_graph()
        sess.run(tf.compat.v1.global_variables_initializer())
        return tf.compat.v1.train.Saver().save(sess, str(work / "float.ckpt"))


def _config(sess, method):
    import quantbridge.tf as qtf

    cfg = qtf.build_config(sess)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    cfg["quantbridge"] = {"calibration": {"method": method}}
    return cfg


class Process:
    """One calibrating process: a fresh graph and session with the float weights restored."""

    def __init__(self, ex, ckpt, method):
        import quantbridge.tf as qtf

        self.ex, self.qtf = ex, qtf
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.sess = tf.compat.v1.Session(graph=self.graph)
            self.info = ex.build_graph()
            quant_flag = tf.compat.v1.placeholder(tf.int32)
            is_train = tf.compat.v1.placeholder(tf.bool, name="is_train")
            qtf.optimize_model(self.sess, _config(self.sess, method), is_train, quant_flag)
            qtf.float_saver(self.sess).restore(self.sess, ckpt)
            self.info.update(quant_flag=quant_flag.name, is_train_flag=is_train.name)

    def calibrate(self, batches):
        with self.graph.as_default():
            self.qtf.set_calibrate_state(self.sess, True)
            self.ex.calibrate(self.sess, self.info, progress=lambda *a, **k: None, batches=batches)

    def finish(self):
        with self.graph.as_default():
            return self.qtf.set_calibrate_state(self.sess, False)


@pytest.mark.parametrize("method", ["minmax", "percentile", "mse"])
def test_merged_shards_give_the_ranges_of_one_process_on_the_union(ex, float_ckpt, method):
    batches = ex.calibration_batches()
    shards = [batches[0::2], batches[1::2]]
    procs = [Process(ex, float_ckpt, method) for _ in shards]
    for p, shard in zip(procs, shards):
        p.calibrate(shard)
    stats = [json.loads(json.dumps(p.qtf.calibration_stats(p.sess))) for p in procs]   # as exchanged between processes
    for p in procs:
        p.qtf.merge_calibration(p.sess, stats)
    merged = [p.finish() for p in procs]
    one = Process(ex, float_ckpt, method)
    one.calibrate(shards[0] + shards[1])
    single = one.finish()
    assert merged[0] == merged[1]                         # every process, bit for bit
    assert sorted(merged[0]) == sorted(single) and len(single) == 4
    if method == "minmax":
        assert merged[0] == single
    else:
        for name, (lo, hi) in single.items():
            full = stats[0]["layers"][name]
            width = (max(s["layers"][name]["histogram"]["hi"] for s in stats)
                     - min(s["layers"][name]["histogram"]["lo"] for s in stats)) / full["histogram"]["bins"]
            # percentile: two bins at each end; mse may pick the neighbouring candidate (1 % of the range)
            tol = 2 * width + (0.01 * width * full["histogram"]["bins"] if method == "mse" else 0.0)
            assert abs(merged[0][name][0] - lo) <= tol and abs(merged[0][name][1] - hi) <= tol, name


def test_statistics_of_another_config_are_refused(ex, float_ckpt):
    a, b = Process(ex, float_ckpt, "percentile"), Process(ex, float_ckpt, "minmax")
    batches = ex.calibration_batches()[:2]
    a.calibrate(batches)
    b.calibrate(batches)
    with pytest.raises(ModelError, match="comes from another config"):
        a.qtf.merge_calibration(a.sess, [a.qtf.calibration_stats(a.sess), b.qtf.calibration_stats(b.sess)])
    a.finish()
    with pytest.raises(ModelError, match="not calibrating"):
        a.qtf.calibration_stats(a.sess)

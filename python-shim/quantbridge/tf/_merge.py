"""Calibration over several processes for ``tf.compat.v1`` graphs: each process calibrates on its
shard, exports its statistics, and every process merges all of them before finishing.

::

    set_calibrate_state(sess, True)
    ...  forward passes over this process's shard, feeding quant_flag=1
    mine = calibration_stats(sess)                 # plain JSON-able dict
    ...  exchange the dicts between the processes (files, a queue, your job system)
    merge_calibration(sess, [stats_0, stats_1, ...])   # the same list, in the same order, everywhere
    set_calibrate_state(sess, False)               # ranges of the union of the shards

The merge is the one the PyTorch back end runs across ranks: running min/max by MIN/MAX, so
``minmax`` ranges are exactly those of one process calibrating on the union of the shards; the
histograms of ``percentile``/``mse`` re-binned onto the union of their ranges and summed in list
order (``common.qparams.merge_histograms``), so every process that merges the same list gets the
same ranges bit for bit, as close to one process on the union as the PyTorch merge (percentile:
within two histogram bins at either end; mse: the same candidate range unless two nearly tie).
"""

import numpy as np

from quantbridge.common import qparams
from quantbridge.errors import ModelError
from quantbridge.tf._rewrite import state_of

__all__ = ["calibration_stats", "merge_calibration"]

FORMAT = "quantbridge-calibration-stats"


def calibration_stats(sess):
    """This process's calibration statistics so far (call it before ``set_calibrate_state(sess, False)``).

    Returns ``{"format", "version", "method", "bins", "layers": {name: {"min", "max", "seen",
    "histogram"}}}`` with plain numbers and lists (``histogram`` is None for ``minmax`` or when the
    layer saw nothing).
    """
    state = state_of(sess)
    if not state.calibrating:
        msg = "calibration_stats: the session is not calibrating; call set_calibrate_state(sess, True) and run batches first"
        raise ModelError(msg)
    layers = state.quantized
    values = sess.run([(layer.act_min, layer.act_max, layer.initialized) for layer in layers])
    out = {}
    for layer, (lo, hi, seen) in zip(layers, values):
        h = layer.observer
        hist = None if h is None or h.lo is None else {"bins": h.bins, "lo": h.lo, "hi": h.hi,
                                                       "counts": np.asarray(h.counts, dtype=np.float64).tolist()}
        out[layer.name] = {"min": float(lo), "max": float(hi), "seen": bool(seen), "histogram": hist}
    return {"format": FORMAT, "version": 1, "method": state.method, "bins": state.bins, "layers": out}


def _histogram(entry):
    if entry is None:
        return None
    h = qparams.HistogramObserver(int(entry["bins"]))
    h.lo, h.hi = float(entry["lo"]), float(entry["hi"])
    h.counts = np.asarray(entry["counts"], dtype=np.float64)
    return h


def merge_calibration(sess, stats):
    """Replace this session's calibration statistics by the merge of ``stats`` (a list of
    :func:`calibration_stats` results, this process's own among them, in the same order in every
    process). The session stays in calibration; ``set_calibrate_state(sess, False)`` then chooses
    the ranges. Returns the merged ``{layer: [min, max]}`` of the layers some process saw.

    Raises ModelError when the statistics do not come from the same config (layers, method, bins).
    """
    state = state_of(sess)
    if not state.calibrating:
        msg = "merge_calibration: the session is not calibrating; call set_calibrate_state(sess, True) first"
        raise ModelError(msg)
    stats = list(stats)
    if not stats:
        msg = "merge_calibration got no statistics; expected the calibration_stats of every process"
        raise ModelError(msg)
    names = [layer.name for layer in state.quantized]
    for i, s in enumerate(stats):
        if not isinstance(s, dict) or s.get("format") != FORMAT:
            msg = f"merge_calibration: entry {i} is not a calibration_stats result (format {FORMAT!r})"
            raise ModelError(msg)
        if sorted(s["layers"]) != sorted(names) or s["method"] != state.method or int(s["bins"]) != state.bins:
            msg = (f"merge_calibration: entry {i} comes from another config: layers {sorted(s['layers'])}, method "
                   f"{s['method']!r}, bins {s['bins']}; this session has {sorted(names)}, {state.method!r}, {state.bins}")
            raise ModelError(msg)
    merged, feed, fetch = {}, {}, []
    for layer in state.quantized:
        entries = [s["layers"][layer.name] for s in stats if s["layers"][layer.name]["seen"]]
        if not entries:
            continue
        lo = float(np.min(np.asarray([e["min"] for e in entries], dtype=np.float32)))
        hi = float(np.max(np.asarray([e["max"] for e in entries], dtype=np.float32)))
        feed[layer.set_min], feed[layer.set_max] = lo, hi
        fetch.append(layer.set_range)
        if layer.observer is not None:
            layer.observer = qparams.merge_histograms([_histogram(e["histogram"]) for e in entries]) \
                or qparams.HistogramObserver(state.bins)
        merged[layer.name] = [lo, hi]
    if fetch:
        sess.run(fetch, feed_dict=feed)
    return merged

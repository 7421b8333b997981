"""Quantization-parameter math shared by both back ends (numpy only).

Conventions (the same as ONNX QuantizeLinear/DequantizeLinear):
  q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax),  x' = (q - zero_point) * scale

* activations: asymmetric uint8, [0, 255]; the range always contains 0 so that 0 is exact;
* weights: symmetric int8 per output channel, narrow range [-127, 127], zero point 0.
"""

import numpy as np

__all__ = ["ACT_QMIN", "ACT_QMAX", "W_QMIN", "W_QMAX", "activation_qparams", "weight_qparams",
           "weight_codes", "fake_quant", "HistogramObserver", "rebin", "merge_histograms", "choose_range", "sqnr_db", "Sqnr", "SCALE_FLOOR"]

ACT_QMIN, ACT_QMAX = 0, 255
W_QMIN, W_QMAX = -127, 127
SCALE_FLOOR = np.float32(1e-8)   # the one floor under every scale (PyTorch and TensorFlow; Java derives no scales)


def activation_qparams(lo, hi, qmin=ACT_QMIN, qmax=ACT_QMAX):
    """Asymmetric (scale, zero_point) covering [lo, hi] (widened to contain 0)."""
    lo = min(float(lo), 0.0)
    hi = max(float(hi), 0.0)
    scale = max((hi - lo) / float(qmax - qmin), float(SCALE_FLOOR))
    zero_point = int(np.clip(np.round(qmin - lo / scale), qmin, qmax))
    return float(np.float32(scale)), zero_point


def weight_qparams(absmax, qmax=W_QMAX):
    """Symmetric per-channel scales from per-channel max |w| (array-like)."""
    absmax = np.asarray(absmax, dtype=np.float32)
    return np.maximum(absmax / np.float32(qmax), SCALE_FLOOR).astype(np.float32)


def weight_codes(w, scale):
    """The int8 codes of a weight for broadcastable symmetric ``scale``: ``clip(rint(w / scale),
    -127, 127)`` (round half to even, as ONNX QuantizeLinear), in ``w``'s float dtype."""
    return np.clip(np.rint(w / scale), W_QMIN, W_QMAX)


def fake_quant(x, scale, zero_point, qmin, qmax, axis=None):
    """Numpy reference of quantize-dequantize (round half to even)."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point, dtype=np.float32)
    if axis is not None:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
        zero_point = zero_point.reshape(shape)
    q = np.clip(np.rint(x / scale) + zero_point, qmin, qmax)
    return ((q - zero_point) * scale).astype(np.float32)


class Sqnr:
    """Signal-to-quantization-noise ratio over several batches: running sums of ``ref^2`` and
    ``(ref - q)^2`` in float64; ``db()`` is ``10 log10(signal / noise)``, inf when they are equal."""

    def __init__(self):
        self.signal = 0.0
        self.noise = 0.0
        self.seen = False

    def add(self, reference, quantized):
        reference = np.asarray(reference, dtype=np.float64)
        diff = reference - np.asarray(quantized, dtype=np.float64)
        self.signal += float(np.sum(reference * reference))
        self.noise += float(np.sum(diff * diff))
        self.seen = True
        return self

    def db(self):
        """The ratio in dB, or None before the first ``add``."""
        if not self.seen:
            return None
        if self.noise == 0.0:
            return float("inf")
        return float(10.0 * np.log10(max(self.signal, 1e-30) / self.noise))


def sqnr_db(reference, quantized):
    """Signal-to-quantization-noise ratio in dB of one pair (inf when identical)."""
    return Sqnr().add(reference, quantized).db()


class HistogramObserver:
    """Collects a value histogram over a growing range for percentile and MSE calibration.

    The histogram has ``bins`` bins over [lo, hi]; when a batch falls outside, the range
    grows and the old counts are spread over the new bins in proportion to their overlap.
    """

    def __init__(self, bins=2048):
        self.bins = int(bins)
        self.lo = None
        self.hi = None
        self.counts = np.zeros(self.bins, dtype=np.float64)

    def update(self, values):
        values = np.asarray(values, dtype=np.float32).ravel()
        if values.size == 0:
            return
        lo, hi = float(values.min()), float(values.max())
        if self.lo is None:
            self.lo, self.hi = min(lo, 0.0), max(hi, 0.0)
            if self.hi == self.lo:
                self.hi = self.lo + 1e-6
        elif lo < self.lo or hi > self.hi:
            new_lo, new_hi = min(lo, self.lo), max(hi, self.hi)
            self.counts = rebin(self, new_lo, new_hi)
            self.lo, self.hi = new_lo, new_hi
        counts, _ = np.histogram(values, bins=self.bins, range=(self.lo, self.hi))
        self.counts += counts

    def state(self):
        return {"bins": self.bins, "lo": self.lo, "hi": self.hi, "counts": self.counts.tolist()}

    def percentile_range(self, percentile):
        """Range keeping ``percentile`` % of the mass (the tails split evenly)."""
        total = self.counts.sum()
        if total == 0:
            return 0.0, 0.0
        tail = (100.0 - float(percentile)) / 200.0 * total
        cdf = np.cumsum(self.counts)
        width = (self.hi - self.lo) / self.bins
        lo_idx = int(np.searchsorted(cdf, tail, side="right"))
        hi_idx = int(np.searchsorted(cdf, total - tail, side="left"))
        lo = self.lo + lo_idx * width
        hi = self.lo + (hi_idx + 1) * width
        return min(lo, 0.0), max(min(hi, self.hi), 0.0)

    def mse_range(self, qmin=ACT_QMIN, qmax=ACT_QMAX, steps=100):
        """Range minimising the expected squared quantization error over the histogram."""
        total = self.counts.sum()
        if total == 0:
            return 0.0, 0.0
        width = (self.hi - self.lo) / self.bins
        centres = self.lo + (np.arange(self.bins) + 0.5) * width
        best, best_err = (self.lo, self.hi), None
        for frac in np.linspace(1.0 / steps, 1.0, steps):
            lo, hi = min(self.lo * frac, 0.0), max(self.hi * frac, 0.0)
            scale, zp = activation_qparams(lo, hi, qmin, qmax)
            q = fake_quant(centres, scale, zp, qmin, qmax)
            err = float(np.sum(self.counts * (centres - q) ** 2))
            if best_err is None or err < best_err:
                best, best_err = (lo, hi), err
        return best


def rebin(histogram, lo, hi):
    """``histogram``'s counts spread over its ``bins`` bins of [lo, hi] by overlap (float64).

    The old histogram's cumulative counts, linear inside each old bin, read at the new bin edges:
    no drift when a range grows many times. [lo, hi] must contain the histogram's range.
    """
    bins = histogram.bins
    if histogram.lo is None:
        return np.zeros(bins, dtype=np.float64)
    if histogram.lo == lo and histogram.hi == hi:
        return np.asarray(histogram.counts, dtype=np.float64).copy()
    old_edges = np.linspace(histogram.lo, histogram.hi, bins + 1)
    cdf = np.concatenate([[0.0], np.cumsum(histogram.counts)])
    return np.diff(np.interp(np.linspace(lo, hi, bins + 1), old_edges, cdf))


def merge_histograms(histograms):
    """One :class:`HistogramObserver` with the counts of all ``histograms`` (None entries and empty
    ones are skipped): the range is the union of theirs, each is re-binned onto it by overlap
    (:func:`rebin`) and the counts are summed in the given order, so the same list gives the same
    bits in every process. Returns None when none saw data; raises ValueError for unequal sizes.
    """
    seen = [h for h in histograms if h is not None and h.lo is not None]
    if not seen:
        return None
    bins = seen[0].bins
    if any(h.bins != bins for h in seen):
        msg = f"cannot merge histograms of different sizes {sorted({h.bins for h in seen})}; expected {bins} bins each"
        raise ValueError(msg)
    merged = HistogramObserver(bins)
    merged.lo, merged.hi = min(h.lo for h in seen), max(h.hi for h in seen)
    counts = np.zeros(bins, dtype=np.float64)
    for h in seen:
        counts += rebin(h, merged.lo, merged.hi)
    merged.counts = counts
    return merged


def choose_range(method, running_min, running_max, histogram=None, percentile=99.99):
    """The calibrated (lo, hi) for ``method`` in {'minmax', 'percentile', 'mse'}."""
    if method == "minmax" or histogram is None or histogram.lo is None:
        return float(running_min), float(running_max)
    if method == "percentile":
        return histogram.percentile_range(percentile)
    if method == "mse":
        return histogram.mse_range()
    msg = f"unknown calibration method {method!r}; expected 'minmax', 'percentile' or 'mse'"
    raise ValueError(msg)

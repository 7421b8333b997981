"""Numbers the shim computes, for the live Java/Python agreement tests (ShimParityTest)."""

import numpy as np
import torch

from quantbridge.common import qparams


def weights(channels, inner, seed):
    """A float32 weight ``[channels, inner]`` with the awkward values: halfway points of the int8
    grid, an all-zero channel, a tiny channel (scale floor) and large outliers."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.2, size=(channels, inner)).astype(np.float32)
    w[1] = 0.0
    w[2] *= np.float32(1e-12)
    w[3, :8] = (np.arange(8, dtype=np.float32) + np.float32(0.5)) * np.float32(0.01)
    w[3, 8] = np.float32(1.27)
    w[4, 0] = np.float32(40.0)
    return np.ascontiguousarray(w)


def weight_fake_quant(w):
    """The shim's per-channel symmetric int8 quantization of ``w`` along axis 0: its scales, the
    numpy reference fake quant and torch's (the op the PyTorch back end trains with)."""
    absmax = np.abs(w).max(axis=1)
    scales = qparams.weight_qparams(absmax)
    numpy_fq = qparams.fake_quant(w, scales, np.zeros(len(scales)), qparams.W_QMIN, qparams.W_QMAX, axis=0)
    torch_fq = torch.fake_quantize_per_channel_affine(torch.from_numpy(w), torch.from_numpy(scales),
                                                      torch.zeros(len(scales), dtype=torch.int32), 0,
                                                      qparams.W_QMIN, qparams.W_QMAX).numpy()
    return {"scales": np.ascontiguousarray(scales), "numpy": np.ascontiguousarray(numpy_fq),
            "torch": np.ascontiguousarray(torch_fq)}


def reprs(values):
    """``repr`` of each value as Python writes it (floats, strings, lists, None)."""
    return [repr(v) for v in values]

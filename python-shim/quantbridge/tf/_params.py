"""Parameter-file entries of the TensorFlow back end (``quant_params`` and the export share them).

Weights: one scale per output channel. Conv2D (HWIO) and MatMul have one channel axis
(``"axis"``). A DepthwiseConv2dNative filter ``[h, w, in, mult]`` has ``in * mult`` output
channels spread over two axes: with ``mult == 1`` that is exactly axis 2 (``"axis": 2``); with
``mult > 1`` the entry says ``"channel_axes": [2, 3]`` instead (no ``"axis"``), the scales
ordered in-major, mult-minor (scale ``i * mult + m`` belongs to ``w[:, :, i, m]``), i.e. the
scales reshaped to ``[in, mult]`` broadcast against the filter.

Activations: ``min`` / ``max`` are the range the scale and zero point represent,
``(0 - zero_point) * scale`` and ``(255 - zero_point) * scale`` (as the PyTorch back end
reports them), not the raw calibrated range.
"""

from quantbridge.common import paramfile, qparams

__all__ = ["weight_entry", "activation_entry"]


def weight_entry(tensor, op_type, shape, channel_axis, scales):
    """``paramfile.weight_entry`` with the channel axes of a depthwise filter spelled out."""
    entry = paramfile.weight_entry(tensor, channel_axis, scales)
    if op_type == "DepthwiseConv2dNative" and len(shape) == 4 and int(shape[3]) > 1:
        entry = {("channel_axes" if key == "axis" else key): ([2, 3] if key == "axis" else value)
                 for key, value in entry.items()}
    return entry


def activation_entry(tensor, scale, zero_point):
    """``paramfile.activation_entry`` whose min / max are the range (scale, zero point) covers."""
    scale, zero_point = float(scale), int(zero_point)
    lo = (qparams.ACT_QMIN - zero_point) * scale
    hi = (qparams.ACT_QMAX - zero_point) * scale
    return paramfile.activation_entry(tensor, scale, zero_point, lo, hi)

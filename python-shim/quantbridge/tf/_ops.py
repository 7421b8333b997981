"""Fake-quant building blocks in TF ops, bit-exact with ``quantbridge.common.qparams``.

Why not ``tf.quantization.fake_quant_with_min_max_vars``: its nudging rounds half up
(``floor(x + 0.5)``), rounds the zero point half away from zero, and *shifts* a range
that does not contain 0 instead of widening it ([1, 2] becomes [0, 1]). ONNX QuantizeLinear
and ``common.qparams`` round half to even and widen the range. The ops below repeat the
numpy reference step by step in float32 (the activation qparams in float64, as numpy
does), so the quantized session, the frozen .pb and the parameter file agree bit for bit.

Gradients are straight-through: the forward value is exactly the fake-quantized value
(``stop_gradient(y) + (x - stop_gradient(x))`` adds an exact 0), the gradient is 1 where
the input was not clipped (activations) and 1 everywhere for weights (never clipped: the
range is max |w|).

Divisions by constants go through ``DivNoNan``: Grappler turns ``RealDiv(x, Const)`` into a
multiplication by the reciprocal, which is not bit-exact.
"""

import numpy as np
import tensorflow as tf

from quantbridge.common import qparams

__all__ = ["weight_codes", "weight_fake_quant", "activation_qparams", "activation_codes", "activation_fake_quant", "EPS"]

EPS = qparams.SCALE_FLOOR


def _div(x, constant):
    """``x / constant`` that stays a true division: Grappler's constant folding rewrites
    ``RealDiv(x, Const)`` into ``x * (1 / c)`` (1 ulp off), but leaves ``DivNoNan`` alone."""
    return tf.math.divide_no_nan(x, tf.constant(constant))


def weight_codes(w, reduce_axes):
    """(int8 codes as float32, per-channel scales with ``w``'s rank) of ``w``, per-channel symmetric
    (narrow range); channels = axes not reduced. ``qparams.weight_qparams`` / ``weight_codes``."""
    absmax = tf.reduce_max(tf.abs(w), axis=list(reduce_axes), keepdims=True)
    scale = tf.maximum(_div(absmax, np.float32(qparams.W_QMAX)), EPS)
    return tf.clip_by_value(tf.round(w / scale), float(qparams.W_QMIN), float(qparams.W_QMAX)), scale


def weight_fake_quant(w, reduce_axes):
    """Per-channel symmetric int8 (narrow range) fake quant of ``w``; channels = axes not reduced."""
    q, scale = weight_codes(w, reduce_axes)
    wq = q * scale
    return tf.stop_gradient(wq) + (w - tf.stop_gradient(w))


def activation_qparams(lo, hi):
    """(scale float32, zero_point float32) of ``qparams.activation_qparams`` as TF ops."""
    lo64 = tf.minimum(tf.cast(lo, tf.float64), np.float64(0.0))
    hi64 = tf.maximum(tf.cast(hi, tf.float64), np.float64(0.0))
    scale64 = tf.maximum(_div(hi64 - lo64, np.float64(qparams.ACT_QMAX - qparams.ACT_QMIN)), np.float64(EPS))
    zp = tf.clip_by_value(tf.round(np.float64(qparams.ACT_QMIN) - lo64 / scale64),
                          np.float64(qparams.ACT_QMIN), np.float64(qparams.ACT_QMAX))
    return tf.cast(scale64, tf.float32), tf.cast(zp, tf.float32)


def activation_codes(x, scale, zero_point):
    """``q - zero_point`` of uint8 QuantizeLinear (float32): the integer an integer kernel reads."""
    qmin, qmax = np.float32(qparams.ACT_QMIN), np.float32(qparams.ACT_QMAX)
    return tf.clip_by_value(tf.round(x / scale) + zero_point, qmin, qmax) - zero_point


def activation_fake_quant(x, scale, zero_point):
    """Asymmetric uint8 fake quant with a straight-through gradient inside the range."""
    qmin, qmax = np.float32(qparams.ACT_QMIN), np.float32(qparams.ACT_QMAX)
    y = activation_codes(x, scale, zero_point) * scale
    inside = tf.logical_and(x >= (qmin - zero_point) * scale, x <= (qmax - zero_point) * scale)
    passthrough = tf.where(inside, x - tf.stop_gradient(x), tf.zeros_like(x))
    return tf.stop_gradient(y) + passthrough

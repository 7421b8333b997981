"""The quantization parameter file, one schema for PyTorch and TensorFlow.

The schema's owner is Java (``io.quantbridge.params``): every run driven from Java gets the
numbers back (``quantbridge.torch.export_onnx``, ``quantbridge.tf.export_pb``) and Java writes the
file. :func:`write` serves the vendor's plain-Python ``generate_final_model``, where no JVM runs;
the end-to-end tests read its files with Java's reader and compare them with Java's own.

::

    {
      "format": "quantbridge-quant-params", "version": 2,
      "framework": "torch" | "tensorflow",
      "model": {"file": "<name>.onnx|.pb", "sha256": "<hex of that file>", "input_shape": "x:1,1,8,8" | null,
                "outputs": ["..."]},
      "layers": [
        {"name": "conv1/Conv2D", "op_type": "...", "quant_strategy": "Quant_INT8-8" | "float",
         "node": "<ONNX node / TF op name in the exported model>",
         "nodes": ["<every ONNX node of the layer, the first one is node>"],       (torch only)
         "weight": {"tensor": "<initializer / Const name>", "dtype": "int8", "bits": 8, "symmetric": true,
                    "axis": <channel axis of that tensor>, "scale": [...], "zero_point": [...],
                    "copies": [{"tensor": "...", "axis": a, "scale": [...], "zero_point": [...]}]},  (optional)
         "activation": {"tensor": "<the layer's input tensor>", "dtype": "uint8", "bits": 8,
                        "symmetric": false, "scale": s, "zero_point": z, "min": lo, "max": hi},
         "int32_bias": true}                                                        (optional)
      ],
      "points": [                                                                   (version 2)
        {"name": "<traced node>", "tensor": "<tensor in the exported model>", "owner": "<layer name>" | null,
         "mirror_of": "<name of another point>" | null, "dtype": "uint8", "bits": 8 | 7,
         "symmetric": false, "scale": s, "zero_point": z, "min": lo, "max": hi}
      ]
    }

``weight`` and ``activation`` are absent for layers left at ``float``. ``int32_bias`` (absent
means false) marks a quantized layer that the fake-quant model computes, in eval mode, with its
bias rounded to int32 with scale ``s_x * s_w[c]`` (PyTorch's integer-kernel groups, including the
last Linear, a ``QGemm`` writing float); the QDQ builder gives these layers (and, for files
without the mark, those whose output is a point) an int32 bias, so the deployed kernel is the
same computation.

Points (version 2) are the tensors quantized on top of the layer inputs so that the runtime can
run the layers in integer: a quantized layer's output (after BatchNorm folding and ReLU), the
inputs and output of a residual add. Each is quantized once for all its consumers with
``scale``/``zero_point``; ``owner`` names the layer whose input quantizer it is (the same
parameters as that layer's ``activation``), null for a quantizer of its own. A ``mirror_of``
point sits before a value-transparent op (MaxPool, Flatten) with the parameters of the point
after it. ``bits`` 7 means reduce_range: the calibrated range maps to 0..127 (values above it
still saturate at 255). Version-1 files (no points) are still read; their model quantizes only
layer inputs.

Layers called more than once (PyTorch): a module called several times (a shared conv head, a
block applied twice) has one ONNX node per call. ``nodes`` lists them all in graph order and
``node`` is the first (readers that know only ``node`` see the first call). One activation
quantizer serves every call, so ``activation`` (scale, zero point) applies to the data input of
each node; ``activation.tensor`` is the first node's. The nodes normally read the same weight
initializer ``weight.tensor``; a node that reads another initializer holding this layer's weight
(torch's exporter folded a BatchNorm into that call only, or transposed the weight for it) has
that initializer in ``weight.copies`` with its own axis and scales (same dtype and zero points).
``copies`` is absent when there are none.

Weight channel axes: ``axis`` is the one axis of ``tensor`` the per-channel scales run along.
A TensorFlow DepthwiseConv2dNative filter ``[h, w, in, mult]`` with a channel multiplier
``mult > 1`` has ``in * mult`` output channels over two axes: its entry has
``"channel_axes": [2, 3]`` instead of ``"axis"``, the scales ordered in-major, mult-minor
(scale ``i * mult + m`` is channel ``[:, :, i, m]``; the scales reshaped to ``[in, mult]``
broadcast against the filter). With ``mult == 1`` it is the usual ``"axis": 2``.

Activation ``min`` / ``max`` are the range the scale and zero point represent,
``((0 - zero_point) * scale, (255 - zero_point) * scale)``, in both back ends. The layer dicts
the back ends' ``quant_params`` return also carry ``activation["calibrated"]`` (not in the file).
"""

import hashlib
import json

from quantbridge.common.paths import atomic_write_text

__all__ = ["FORMAT", "VERSION", "sha256_file", "build", "write", "read"]

FORMAT = "quantbridge-quant-params"
VERSION = 2
READABLE_VERSIONS = (1, 2)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weight_entry(tensor, axis, scales, bits=8, copies=()):
    """A symmetric int8 weight entry; ``copies``: ``[(tensor, axis, scales)]`` of other initializers
    holding the same layer's weight (see the module docstring)."""
    scales = [float(s) for s in scales]
    entry = {"tensor": tensor, "dtype": "int8", "bits": bits, "symmetric": True, "axis": int(axis),
             "scale": scales, "zero_point": [0] * len(scales)}
    if copies:
        entry["copies"] = [{"tensor": t, "axis": int(a), "scale": [float(x) for x in sc], "zero_point": [0] * len(sc)}
                           for t, a, sc in copies]
    return entry


def activation_entry(tensor, scale, zero_point, lo, hi, bits=8):
    return {"tensor": tensor, "dtype": "uint8", "bits": bits, "symmetric": False, "scale": float(scale),
            "zero_point": int(zero_point), "min": float(lo), "max": float(hi)}


def point_entry(name, tensor, owner, scale, zero_point, lo, hi, bits=8, mirror_of=None):
    """A derived quantization point (see the module docstring)."""
    return {"name": name, "tensor": tensor, "owner": owner, "mirror_of": mirror_of, "dtype": "uint8",
            "bits": int(bits), "symmetric": False, "scale": float(scale), "zero_point": int(zero_point),
            "min": float(lo), "max": float(hi)}


def build(framework, model_path, layers, input_shape=None, outputs=None, points=()):
    import os
    return {"format": FORMAT, "version": VERSION, "framework": framework,
            "model": {"file": os.path.basename(model_path), "sha256": sha256_file(model_path),
                      "input_shape": input_shape, "outputs": list(outputs or [])},
            "layers": list(layers), "points": list(points)}


def write(path, params):
    atomic_write_text(path, json.dumps(params, indent=2) + "\n")
    return path


def read(path):
    with open(path, encoding="utf-8") as fh:
        params = json.load(fh)
    if params.get("format") != FORMAT:
        msg = f"{path} is not a QuantBridge parameter file (format {params.get('format')!r})"
        raise ValueError(msg)
    if params.get("version") not in READABLE_VERSIONS:
        msg = f"{path}: parameter file version {params.get('version')!r} is not supported; expected one of {READABLE_VERSIONS}"
        raise ValueError(msg)
    params.setdefault("points", [])
    return params

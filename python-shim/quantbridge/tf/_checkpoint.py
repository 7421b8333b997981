"""Reading and restoring TensorFlow checkpoints, with one clear :class:`CheckpointError` per problem.

TensorFlow reports a damaged or foreign checkpoint as a multi-line ``OpError`` (``DataLossError``
for a corrupt ``.index``, ``NotFoundError`` for a variable that is not in it, ``InvalidArgumentError``
for a shape that differs, ...). Here every such case becomes one line that names the checkpoint,
what is wrong with it and what was expected, checked before anything is restored where the
index allows it:

- not readable at all (no ``.index``, a damaged or truncated ``.index``, a file of another kind,
  e.g. a PyTorch ``.pth`` or a Keras ``.h5``, named as the checkpoint);
- another model's checkpoint (none or only some of the graph's variables in it, or other shapes
  or dtypes);
- a damaged ``.data`` file (the values cannot be read while restoring).
"""

import os

import tensorflow as tf

from quantbridge.errors import CheckpointError

__all__ = ["open_reader", "check_fits", "check_ranges", "restore", "read_values"]

EXPECTED = ("expected the prefix Saver.save returned (e.g. 'dir/model.ckpt', with 'dir/model.ckpt.index' beside it) "
            "or a directory with a 'checkpoint' file")
_MAGIC = [(b"PK\x03\x04", "a zip archive, as torch.save writes (a PyTorch .pth?)"),
          (b"\x80", "a Python pickle (a PyTorch .pth or a pickled object?)"),
          (b"\x89HDF", "an HDF5 file (Keras .h5 weights? save a checkpoint with tf.compat.v1.train.Saver instead)")]


def _first_line(exc):
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _kind_of(path):
    """What the file at the checkpoint path (or its ``.index``) is, when it is not a checkpoint."""
    for candidate in (path, f"{path}.index"):
        try:
            with open(candidate, "rb") as fh:
                head = fh.read(8)
        except OSError:
            continue
        if not head:
            return f"{candidate} is empty"
        for magic, kind in _MAGIC:
            if head.startswith(magic):
                return f"{candidate} is {kind}"
    return None


def open_reader(path, what="checkpoint"):
    """``tf.train.load_checkpoint(path)``, or a CheckpointError naming ``path``."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        msg = f"{what} must be a checkpoint path prefix (what Saver.save returned), got {path!r}"
        raise CheckpointError(msg)
    path = str(path)
    try:
        return tf.train.load_checkpoint(path)
    except Exception as exc:  # noqa: BLE001 - TF raises OpError, ValueError or RuntimeError here
        kind = _kind_of(path)
        detail = f"{kind}, not a TensorFlow checkpoint" if kind else _first_line(exc)
        msg = f"cannot read {what} {path!r}: {detail}; {EXPECTED}"
        raise CheckpointError(msg) from None


def _saved_names(var_list):
    """{checkpoint key: variable} as ``Saver(var_list=...)`` names them."""
    from tensorflow.python.training.saving import saveable_object_util

    return saveable_object_util.op_list_to_dict(list(var_list))


def check_fits(reader, var_list, path, what="checkpoint", hint=""):
    """Every variable of ``var_list`` is in the checkpoint with its shape and dtype, or a
    CheckpointError says which are missing or differ (and, when none is there, that the
    checkpoint belongs to another model)."""
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    wanted = _saved_names(var_list)
    missing = [name for name in wanted if name not in shapes]
    if missing and len(missing) == len(wanted):
        sample = sorted(shapes)[:5]
        msg = (f"{what} {str(path)!r} belongs to another model: none of the graph's {len(wanted)} variables (e.g. "
               f"{missing[:3]}) is in it; it holds {len(shapes)} other variable(s) (e.g. {sample}){hint}")
        raise CheckpointError(msg)
    wrong = []
    for name, var in wanted.items():
        if name not in shapes:
            continue
        var = var[0] if isinstance(var, (list, tuple)) else var
        shape = var.shape if hasattr(var, "shape") else None
        if shape is not None and shape.is_fully_defined() and list(shapes[name]) != shape.as_list():
            wrong.append(f"{name}: graph {shape.as_list()}, checkpoint {list(shapes[name])}")
        dtype = getattr(var, "dtype", None)
        if dtype is not None and dtype.base_dtype != dtypes[name].base_dtype:
            wrong.append(f"{name}: graph {dtype.base_dtype.name}, checkpoint {dtypes[name].base_dtype.name}")
    if wrong or missing:
        parts = ["; ".join(wrong[:8]) + (" ..." if len(wrong) > 8 else "")] if wrong else []
        if missing:
            parts.append(f"it lacks {len(missing)} of the graph's {len(wanted)} variables {missing[:8]}"
                         f"{' ...' if len(missing) > 8 else ''}")
        msg = f"{what} {str(path)!r} does not fit the graph (another model's checkpoint?): " + "; ".join(parts) + hint
        raise CheckpointError(msg)


def restore(sess, saver, var_list, path, what="checkpoint", hint=""):
    """``saver.restore(sess, path)`` after :func:`check_fits`; a damaged ``.data`` file or any
    other restore failure becomes a CheckpointError naming the checkpoint."""
    reader = open_reader(path, what)
    check_fits(reader, var_list, path, what, hint)
    try:
        saver.restore(sess, str(path))
    except tf.errors.OpError as exc:
        msg = (f"cannot restore {what} {str(path)!r}: {_first_line(exc)} (is its .data file damaged or "
               f"truncated?); {EXPECTED}")
        raise CheckpointError(msg) from None


def read_values(reader, names, path, what="checkpoint"):
    """``{name: reader.get_tensor(name)}``; a damaged ``.data`` file becomes a CheckpointError."""
    try:
        return {name: reader.get_tensor(name) for name in names}
    except Exception as exc:  # noqa: BLE001 - OpError / RuntimeError from the C++ reader
        msg = (f"cannot read the values of {what} {str(path)!r}: {_first_line(exc)} (is its .data file damaged or "
               f"truncated?)")
        raise CheckpointError(msg) from None


def check_ranges(reader, layers, path, what="checkpoint"):
    """The checkpoint holds the activation ranges of every quantized layer in ``layers``, or a
    CheckpointError says it was saved from the float graph or under another config."""
    from quantbridge.tf._export import range_variable_names

    shapes = reader.get_variable_to_shape_map()
    lacking = [layer for layer in layers if any(name not in shapes for name in range_variable_names(layer))]
    if lacking:
        msg = (f"{what} {str(path)!r} has no activation ranges for the quantized layer(s) {lacking[:8]}"
               f"{' ...' if len(lacking) > 8 else ''}: it was saved from the float graph or under another config; "
               f"pass a checkpoint that calibrate or train wrote with this config")
        raise CheckpointError(msg)

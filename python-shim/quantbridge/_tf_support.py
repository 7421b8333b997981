"""A TensorFlow graph and its session held for Java (the vendor's ``with tf.Session()`` blocks).

Java cannot hold a ``with`` block open across calls, so :class:`GraphSession` owns one
``tf.Graph`` and one ``tf.compat.v1.Session`` built by the user's graph-building function, and
offers the steps the Java ``TfQuantizer`` runs: the vendor's flags, rewrite, restore, calibration
over the user's batches, prediction and checkpoints. Usable from plain Python too.
"""

import warnings

import numpy as np

from quantbridge import progress as qb_progress
from quantbridge.common.targets import resolve_target

__all__ = ["GraphSession", "open_session", "builder_info", "required_inputs"]


def _is_keras_model(obj):
    return all(hasattr(obj, attr) for attr in ("inputs", "outputs", "layers", "updates"))


def builder_info(result):
    """The ``info`` dict of what a graph builder returned: its dict itself, or for a
    ``tf.keras.Model`` (built in the graph) ``input`` / ``output`` (names of its first input and
    output tensors; ``outputs`` lists them all), ``training`` (Keras' learning-phase placeholder),
    ``updates`` (the BatchNormalization update ops) and ``keras_model`` (the model object)."""
    if isinstance(result, dict):
        return dict(result)
    if _is_keras_model(result):
        import tensorflow as tf

        outputs = [t.name for t in result.outputs]
        with warnings.catch_warnings():     # Model.updates is deprecated (for eager code), still right here
            warnings.simplefilter("ignore")
            updates = [getattr(u, "op", u).name for u in result.updates]
        return {"input": result.inputs[0].name, "output": outputs[0], "outputs": outputs,
                "training": tf.keras.backend.learning_phase().name,
                "updates": updates, "keras_model": result}
    return {"builder_result": result}


class GraphSession:
    """One graph built by ``builder`` (``package.module:function``) and a session over it.

    ``info`` is what the builder returned (a dict of tensor names is the convention; a
    ``tf.keras.Model`` becomes such a dict, see :func:`builder_info`; the flag placeholders'
    names are added under ``quant_flag`` and ``is_train_flag``).
    """

    def __init__(self, builder, kwargs=None):
        import tensorflow as tf

        tf.compat.v1.disable_v2_behavior()
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.info = builder_info(resolve_target(builder)(**dict(kwargs or {})))
        self.sess = tf.compat.v1.Session(graph=self.graph)
        self.quant_flag = None
        self.is_train_flag = None

    def _tensor(self, name):
        return self.graph.get_tensor_by_name(name if ":" in name else f"{name}:0")

    def check_names(self, input_name, output_names):
        """Fail with :class:`ModelError` unless the input tensor and every output node exist."""
        from quantbridge.errors import ModelError

        ops = {op.name for op in self.graph.get_operations()}
        wanted = [(input_name, "input tensor")] + [(n, "output node") for n in output_names]
        for name, what in wanted:
            if name.split(":")[0] not in ops:
                close = sorted(o for o in ops if "/" not in o)[:8]
                msg = f"{what} {name!r} is not in the graph built by the graph builder; top-level ops include {close}"
                raise ModelError(msg)
        unfed = required_inputs(self.graph, output_names, exclude=input_name)
        if unfed:
            msg = (f"the graph has {len(unfed)} placeholder(s) without a default on the path to the outputs "
                   f"{list(output_names)}: {unfed}, besides the input {input_name!r}; QuantBridge feeds a TensorFlow "
                   f"model only through that input (calibration, export checks, reports), so give each other one a "
                   f"default (tf.compat.v1.placeholder_with_default, e.g. False for a training switch) or build the "
                   f"graph with a single input")
            raise ModelError(msg)

    def initialize(self):
        """Initialise every variable (a float model trained from scratch)."""
        import tensorflow as tf

        with self.graph.as_default():
            self.sess.run(tf.compat.v1.global_variables_initializer())

    def optimize(self, config, checked=False):
        """The vendor's step 3: flags as placeholders, then ``optimize_model`` on this graph
        (``checked``: the config already passed the structural rules, see ``optimize_model``)."""
        import tensorflow as tf

        from quantbridge.tf import optimize_model

        with self.graph.as_default():
            self.quant_flag = tf.compat.v1.placeholder(tf.int32, shape=[], name="quant_flag")
            self.is_train_flag = tf.compat.v1.placeholder(tf.bool, shape=[], name="is_train")
            summary = optimize_model(self.sess, config, self.is_train_flag, self.quant_flag, checked=checked)
        self.info["quant_flag"] = self.quant_flag.name
        self.info["is_train_flag"] = self.is_train_flag.name
        return summary

    def restore_float(self, ckpt):
        """Restore the ORIGINAL float checkpoint (the rewrite's range variables stay as initialised).
        A checkpoint that cannot be read or does not fit, or a restored variable holding NaN/Inf,
        raises one :class:`CheckpointError` naming it."""
        from quantbridge.errors import CheckpointError
        from quantbridge.tf import _checkpoint, float_saver
        from quantbridge.tf._rewrite import state_of

        with self.graph.as_default():
            _checkpoint.restore(self.sess, float_saver(self.sess), state_of(self.sess).original_vars, ckpt,
                                "float checkpoint")
        self._check_finite(list(state_of(self.sess).original_vars), f"float checkpoint {str(ckpt)!r}", CheckpointError,
                           "the checkpoint was saved from a diverged or damaged model")

    def restore(self, ckpt):
        """Restore every variable (a checkpoint saved by :meth:`save` after a rewrite), checked
        first: readable, this graph's variables, and the ranges of every quantized layer; NaN/Inf
        is refused (CheckpointError naming it)."""
        import tensorflow as tf

        from quantbridge.errors import CheckpointError
        from quantbridge.tf import _checkpoint
        from quantbridge.tf._rewrite import is_rewritten, state_of

        with self.graph.as_default():
            if is_rewritten(self.graph):
                reader = _checkpoint.open_reader(ckpt)
                _checkpoint.check_ranges(reader, [layer.name for layer in state_of(self.graph).quantized], ckpt)
            variables = tf.compat.v1.global_variables()
            _checkpoint.restore(self.sess, tf.compat.v1.train.Saver(var_list=variables), variables, ckpt)
        self._check_finite(None, f"checkpoint {str(ckpt)!r}", CheckpointError,
                           "the checkpoint was saved from a diverged or damaged model")

    def save(self, prefix):
        """``Saver().save``: weights and, after a rewrite, the ranges. Returns the checkpoint path.

        Variables holding NaN/Inf are refused (DivergedError) before anything is written."""
        import tensorflow as tf

        from quantbridge.errors import DivergedError

        self._check_finite(None, f"refusing to write the checkpoint {str(prefix)!r}", DivergedError,
                           "training diverged (lower the learning rate, check the loss); nothing was written")
        with self.graph.as_default():
            return tf.compat.v1.train.Saver().save(self.sess, str(prefix), write_meta_graph=False)

    def _check_finite(self, variables, where, error, hint):
        """Raise ``error`` naming the first of ``variables`` (default: all global ones) holding NaN/Inf."""
        import tensorflow as tf

        from quantbridge.common import finite

        with self.graph.as_default():
            if variables is None:
                variables = tf.compat.v1.global_variables()
            values = self.sess.run(variables) if variables else []
        finite.check_finite(zip([v.op.name for v in variables], values), where, error, what="variable", hint=hint)

    def feed(self, quantized, training=False):
        if self.quant_flag is None:
            return {}
        return {self.quant_flag: 1 if quantized else 0, self.is_train_flag: bool(training)}

    def calibrate(self, batches, input_name, output_names, max_batches=None, source=None):
        """The vendor's no-training path: calibration mode on, forward passes with quant_flag=1,
        calibration mode off. ``batches``: arrays, or (inputs, ...) pairs, each checked against
        the input tensor (``tf._batches.check_batch``) before it runs; ``source`` names the
        data function in those errors. Returns the number of batches run."""
        import itertools

        from quantbridge.common.batches import check_iterable, no_batches, source_of
        from quantbridge.tf._batches import check_batch
        from quantbridge.tf import set_calibrate_state

        source = source_of(batches, f"data function {source}" if source else "the calibration batches")
        check_iterable(batches, source)
        if max_batches:
            batches = itertools.islice(batches, int(max_batches))
        batches = list(batches)
        if not batches:
            raise no_batches(source)
        x_t = self._tensor(input_name)
        shape = None if x_t.shape.rank is None else [d for d in x_t.shape.as_list()]
        dtype = x_t.dtype.base_dtype.as_numpy_dtype
        fetches = [self._tensor(n) for n in output_names]
        inputs = [check_batch(batch, i, source, shape, dtype, x_t.name) for i, batch in enumerate(batches, 1)]
        set_calibrate_state(self.sess, True)
        try:
            for i, x in enumerate(inputs, 1):
                self.sess.run(fetches, feed_dict={**self.feed(True), x_t: x})
                qb_progress.emit("calibrate", i, len(inputs))
        except BaseException:
            _leave_calibration(self.sess)   # keep the original error: finalising would fail on missing ranges
            raise
        set_calibrate_state(self.sess, False)
        return len(inputs)

    def predict(self, x, input_name, output_name, quantized=True):
        """Output ``output_name`` for input ``x`` (inference mode, quantized path unless told)."""
        feed = {**self.feed(quantized), self._tensor(input_name): np.asarray(x, dtype=np.float32)}
        return self.sess.run(self._tensor(output_name), feed_dict=feed)

    def call(self, target, kwargs=None, phase="train"):
        """Call the user's ``fn(sess, info, **kwargs)`` (with ``progress=`` if it takes one)."""
        from quantbridge._java_support import call_user

        # As inside the vendor's ``with tf.Session() as sess:`` block: this graph is the default.
        with self.graph.as_default():
            return call_user(target, [self.sess, self.info], kwargs, phase)

    def close(self):
        if self.sess is not None:
            self.sess.close()
            self.sess = None


def _leave_calibration(sess):
    """Calibration mode off without finalising the ranges (after a failed calibration pass)."""
    from quantbridge.tf._rewrite import state_of

    state = state_of(sess)
    sess.run(state.calib_off)
    state.calibrating = False


def required_inputs(graph, output_names, exclude=None):
    """Names of the ``Placeholder`` ops (no default) that the outputs ``output_names`` depend on,
    except ``exclude`` (the input tensor or op name), in graph order: each must be fed in every
    run, so a step that feeds only the input cannot run the graph."""
    skip = exclude.split(":")[0] if exclude else None
    todo = [graph.get_operation_by_name(name.split(":")[0]) for name in output_names]
    seen = set()
    while todo:
        op = todo.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        todo.extend(t.op for t in op.inputs)
        todo.extend(op.control_inputs)
    return [op.name for op in graph.get_operations()
            if op.name in seen and op.type == "Placeholder" and op.name != skip]


def open_session(builder, kwargs=None):
    return GraphSession(builder, kwargs)

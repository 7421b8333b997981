"""A small TensorFlow 1.x-style (tf.compat.v1 graph and Session) digits classifier."""

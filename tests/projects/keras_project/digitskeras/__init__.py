"""A digits classifier built with tf.keras layers (Functional, Sequential, keras.applications), run in a tf.compat.v1 Session."""

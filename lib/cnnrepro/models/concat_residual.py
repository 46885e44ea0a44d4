"""Report 2 (HUST): "residual" blocks that concatenate their input with the
output of three 2x2 conv + batch-norm layers (no activation, as in the report's
Appendix A), and the two networks built from them.

Layer names carry the block (``block2_conv1``) so figures can group them.
"""

import keras
from keras import layers


def residual_block(x, filters: int, name: str):
    """Three 2x2 'same' convolutions, each followed by batch norm, stacked onto the input."""
    y = x
    for i in (1, 2, 3):
        y = layers.Conv2D(filters, (2, 2), strides=1, padding="same", name=f"{name}_conv{i}")(y)
        y = layers.BatchNormalization(axis=-1, name=f"{name}_bn{i}")(y)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([x, y])


def concat_features(x, block_filters):
    """Zero-pad to 32x32, then a block and a 2x2 max pool per entry of
    ``block_filters``, flattened: the feature extractor both reports share."""
    x = layers.ZeroPadding2D((2, 2), name="pad")(x)
    for i, filters in enumerate(block_filters, start=1):
        x = residual_block(x, filters, name=f"block{i}")
        x = layers.MaxPooling2D(strides=2, name=f"pool{i}")(x)
    return layers.Flatten(name="flatten")(x)


def dense_head(x, widths, classes: int):
    """ReLU Dense layers of ``widths``, then a softmax Dense of ``classes``."""
    for i, width in enumerate(widths, start=1):
        x = layers.Dense(width, activation="relu", name="dense" if len(widths) == 1 else f"dense{i}")(x)
    return layers.Dense(classes, activation="softmax", name="output")(x)


def concat_resnet(block_filters, input_shape=(28, 28, 1), classes=10, name="concat_resnet"):
    """The extractor of ``block_filters``, Dense 64 ReLU, Dense ``classes`` softmax."""
    inputs = keras.Input(input_shape, name="image")
    outputs = dense_head(concat_features(inputs, block_filters), (64,), classes)
    return keras.Model(inputs, outputs, name=name)


def resnet_shallow(input_shape=(28, 28, 1), classes=10):
    """Two blocks (6 and 16 filters); the report names this Keras model 'resnet_small'."""
    return concat_resnet((6, 16), input_shape, classes, name="resnet_small")


def resnet_deep(input_shape=(28, 28, 1), classes=10):
    """Four blocks (6, 16, 32, 64 filters); the report's 'resnet_large'."""
    return concat_resnet((6, 16, 32, 64), input_shape, classes, name="resnet_large")


def residual_block_model(input_shape=(32, 32, 1), filters=6):
    """One block on its own, for drawing it."""
    inputs = keras.Input(input_shape, name="block_input")
    return keras.Model(inputs, residual_block(inputs, filters, name="block"),
                       name="residual_block")

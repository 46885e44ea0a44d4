"""The three builders of the Cincinnati homework (Deep Learning, Homework 2), as its
code defines them, in Keras (the report's code is Keras too).

- ``dnn``: Dense layers applied *before* ``Flatten``. The report's data have no
  channel axis (28x28 arrays), so each Dense layer maps every row of 28 pixels to
  its units independently; only the softmax layer sees the whole image.
- ``convnet``: (3x3 convolution, 2x2 max pool) for every filter count but the last,
  a last 3x3 convolution, Flatten, Dense 64, softmax.
- ``resnet50_block``: 3x3 convolution of 64, batch norm, ReLU, 3x3/2 max pool, then
  ResNet-50-style convolution and identity blocks (filters 64, 64, 256), global
  average pooling, softmax. The blocks follow the Kaggle notebook the report cites
  (1x1 convolution carrying the stride, fxf "same", 1x1; batch norm after each;
  a 1x1 projection shortcut in the convolution block).

The report's ``model_ResNet`` loop, as printed, puts all four block calls under
``if i == 0``, so whatever its number of blocks, the network is: convolution block
(stride 1), identity block, convolution block (stride 2, the same filters, since
``layers * (i + 1)`` is ``layers`` at i = 0), identity block. That is what is built.
"""

import keras
from keras import layers


def dnn(input_shape=(28, 28, 1), classes=10, units=(128, 64), name="dnn"):
    inputs = keras.Input(input_shape, name="image")
    x = layers.Reshape(input_shape[:2], name="rows")(inputs)  # the report's 28x28 arrays
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, activation="relu", name=f"dense{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def convnet(input_shape=(28, 28, 1), classes=10, filters=(32, 64, 64), name="convnet"):
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, f in enumerate(filters[:-1], start=1):
        x = layers.Conv2D(f, 3, activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Conv2D(filters[-1], 3, activation="relu", name=f"conv{len(filters)}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def _conv_bn(x, filters, kernel, stride, name, relu=True):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="valid" if kernel == 1 else "same",
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def block(x, filters, name, stride=1, projection=False, kernel=3):
    """A ResNet-50 bottleneck: 1x1 (with the stride), kernel x kernel, 1x1, each with
    batch norm; the shortcut is a strided 1x1 projection with batch norm in a
    convolution block (``projection``), the input itself in an identity block."""
    f1, f2, f3 = filters
    y = _conv_bn(x, f1, 1, stride, f"{name}_a")
    y = _conv_bn(y, f2, kernel, 1, f"{name}_b")
    y = _conv_bn(y, f3, 1, 1, f"{name}_c", relu=False)
    shortcut = _conv_bn(x, f3, 1, stride, f"{name}_shortcut", relu=False) if projection else x
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def resnet50_block(input_shape=(28, 28, 1), classes=10, filters=(64, 64, 256),
                   name="resnet50_block"):
    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(64, 3, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)
    x = block(x, filters, "conv_block1", stride=1, projection=True)
    x = block(x, filters, "id_block1")
    x = block(x, filters, "conv_block2", stride=2, projection=True)
    x = block(x, filters, "id_block2")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)

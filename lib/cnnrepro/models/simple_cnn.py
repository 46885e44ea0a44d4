"""The simple CNN of the NTU project: convolution (50 filters), ReLU, 2x2 max pool,
convolution (100 filters), ReLU, 2x2 max pool, flatten (100 x 7 x 7 = 4,900 on
MNIST), fully connected to 10. Its sweeps vary the convolutions, the fully
connected layers and dropout through the arguments; the defaults are the base model.

The report does not give the kernel size; 5x5 with 'same' padding keeps 28x28
until the pools, which its 7x7 after two pools requires.
"""

import keras
from keras import layers

from .init import torch_default

INITS = ("keras", "torch")


def simple_cnn(input_shape=(28, 28, 1), classes=10, conv_filters=(50, 100), kernel=5,
               fc_units=(), dropout=0.0, init="keras", name="simple_cnn"):
    """One (conv, ReLU, max pool) per entry of ``conv_filters``; then ReLU Dense
    layers of ``fc_units``, each followed by dropout when ``dropout`` > 0 (the report's
    dropout sits between two fully connected layers), and a softmax Dense of ``classes``.
    ``init``: Keras's defaults (Glorot uniform, zero biases) or PyTorch's ("torch")."""
    if init not in INITS:
        raise ValueError(f"init={init!r} is not allowed; allowed: {list(INITS)}")

    def init_for(fan_in):
        return torch_default(fan_in) if init == "torch" else {}

    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for i, filters in enumerate(conv_filters, start=1):
        x = layers.Conv2D(filters, kernel, padding="same", activation="relu", name=f"conv{i}",
                          **init_for(kernel * kernel * x.shape[-1]))(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(fc_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"fc{i}", **init_for(x.shape[-1]))(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output", **init_for(x.shape[-1]))(x)
    return keras.Model(inputs, outputs, name=name)

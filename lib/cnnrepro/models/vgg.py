"""VGG (Simonyan and Zisserman, 2015), configurations A, A-LRN, B, C, D and E from
one table, as in the paper's Table 1 (reprinted in the QMUL report).

Entries: an int is a 3x3 convolution with that many filters (ReLU), ``(n, 1)`` a
1x1 convolution (configuration C), "M" a 2x2 max pool, "LRN" local response
normalisation. The classifier is ``fc_units`` ReLU Dense layers with dropout, then
a softmax Dense; the paper's is (4096, 4096) at 224x224.
"""

import keras
from keras import layers, ops

CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}
WEIGHT_LAYERS = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}


@keras.saving.register_keras_serializable(package="cnnrepro")
class LocalResponseNorm(layers.Layer):
    """Across-channel LRN of AlexNet, as VGG's A-LRN uses it (size 5, alpha 1e-4,
    beta 0.75, k 2): x / (k + alpha / size * sum of x^2 over ``size`` neighbouring
    channels) ^ beta. Written with keras.ops so that it runs on every backend."""

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=2.0, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, x):
        sq = ops.square(x)
        half = self.size // 2
        padded = ops.pad(sq, [[0, 0], [0, 0], [0, 0], [half, self.size - 1 - half]])
        channels = ops.shape(x)[-1]
        window = sum(padded[..., i:i + channels] for i in range(self.size))
        return x / ops.power(self.k + self.alpha / self.size * window, self.beta)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha,
                "beta": self.beta, "k": self.k}


def vgg(config="D", input_shape=(224, 224, 3), classes=1000, fc_units=(4096, 4096),
        dropout=0.5, name=None):
    """VGG of configuration ``config`` (a key of CONFIGS)."""
    if config not in CONFIGS:
        raise ValueError(f"unknown VGG configuration {config!r}; allowed: {list(CONFIGS)}")
    inputs = keras.Input(input_shape, name="image")
    x, stage, index = inputs, 1, 0
    for entry in CONFIGS[config]:
        if entry == "M":
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
            stage, index = stage + 1, 0
        elif entry == "LRN":
            x = LocalResponseNorm(name=f"lrn{stage}")(x)
        else:
            filters, kernel = entry if isinstance(entry, tuple) else (entry, 3)
            index += 1
            x = layers.Conv2D(filters, kernel, padding="same", activation="relu",
                              name=f"conv{stage}_{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(fc_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name or f"vgg_{config}")

"""VGG (Simonyan and Zisserman, 2015), configurations A, A-LRN, B, C, D and E from
one table, as in the paper's Table 1 (reprinted in the QMUL report).

Entries: an int is a 3x3 convolution with that many filters (ReLU), ``(n, 1)`` a
1x1 convolution (configuration C), "M" a 2x2 max pool, "LRN" local response
normalisation. The classifier is ``fc_units`` ReLU Dense layers with dropout, then
a softmax Dense; the paper's is (4096, 4096) at 224x224.

``init="torchvision"`` initialises as torchvision's VGG does (He normal, fan-out,
for convolutions; N(0, 0.01) for dense layers; zero biases); ``"keras"`` keeps the
Keras defaults (Glorot uniform), with which a VGG without batch norm stays at chance
for hundreds of updates.

``head``: what feeds the classifier. ``"flatten"``: the last pool's map, flattened,
as the VGG paper (7x7x512 at 224x224). ``"torchvision"``: torchvision's
``AdaptiveAvgPool2d((7, 7))`` first, so the first dense layer always takes 25,088
inputs; at 32x32 the last map is 1x1x512 and the pool repeats it 49 times (134.3 M
parameters at 10 classes, against 33.6 M for ``"flatten"``).
"""

import keras
from keras import layers, ops

from .init import he_fan_out, normal

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


@keras.saving.register_keras_serializable(package="cnnrepro")
class AdaptiveAveragePool(layers.Layer):
    """torchvision's ``AdaptiveAvgPool2d(size)``: output cell (i, j) averages input rows
    floor(i H / size) to ceil((i + 1) H / size) and the same columns, so a smaller map
    is repeated (1x1 -> 7x7 gives 49 copies). Keras's AdaptiveAveragePooling2D cannot
    enlarge a map on TensorFlow."""

    def __init__(self, size=7, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def _bins(self, n):
        return [(i * n // self.size, -(-(i + 1) * n // self.size)) for i in range(self.size)]

    def call(self, x):
        rows = [ops.mean(x[:, a:b], axis=1) for a, b in self._bins(x.shape[1])]
        x = ops.stack(rows, axis=1)                                   # (N, size, W, C)
        cols = [ops.mean(x[:, :, a:b], axis=2) for a, b in self._bins(x.shape[2])]
        return ops.stack(cols, axis=2)                                # (N, size, size, C)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


# init -> (convolution's initialisers, dense layer's), new objects for every layer
INITS = {
    "keras": (dict, dict),
    "torchvision": (he_fan_out, lambda: normal(0.01)),
}
HEADS = ("flatten", "torchvision")


def vgg(config="D", input_shape=(224, 224, 3), classes=1000, fc_units=(4096, 4096),
        dropout=0.5, init="keras", head="flatten", name=None):
    """VGG of configuration ``config`` (a key of CONFIGS)."""
    if config not in CONFIGS:
        raise ValueError(f"unknown VGG configuration {config!r}; allowed: {list(CONFIGS)}")
    if init not in INITS:
        raise ValueError(f"unknown initialisation {init!r}; allowed: {list(INITS)}")
    if head not in HEADS:
        raise ValueError(f"unknown VGG head {head!r}; allowed: {list(HEADS)}")
    conv_init, dense_init = INITS[init]
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
                              name=f"conv{stage}_{index}", **conv_init())(x)
    if head == "torchvision":
        x = AdaptiveAveragePool(7, name="avgpool")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(fc_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"fc{i}", **dense_init())(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output", **dense_init())(x)
    return keras.Model(inputs, outputs, name=name or f"vgg_{config}")


def stage_layers(config: str) -> list[list[str]]:
    """The layers of each stage in the paper's notation (conv3-64, conv1-256, LRN),
    one list per stage; every stage ends in a max pool."""
    stages, current = [], []
    for entry in CONFIGS[config]:
        if entry == "M":
            stages.append(current)
            current = []
        elif entry == "LRN":
            current.append("LRN")
        else:
            filters, kernel = entry if isinstance(entry, tuple) else (entry, 3)
            current.append(f"conv{kernel}-{filters}")
    return stages


def vgg16(input_shape=(32, 32, 3), classes=10, head="torchvision"):
    """VGG configuration D as torchvision's ``vgg16(num_classes=classes)`` builds it
    (the QMUL report worked in PyTorch): no batch norm, 4096-4096 classifier with
    dropout 0.5, torchvision's initialisation, and by default its head: the 1x1x512
    map that 32x32 inputs leave, average-pooled to 7x7 (25,088 inputs to the first
    dense layer). ``head="flatten"`` feeds the 512 values directly."""
    return vgg("D", input_shape, classes, fc_units=(4096, 4096), init="torchvision",
               head=head, name="vgg16")

"""Training-time data augmentation as a Keras layer, so that it runs inside the
compiled training step on every backend and leaves evaluation untouched."""

import keras
from keras import ops

AUGMENTATIONS = ("crop_flip",)  # extra["augment"]


class PadCropFlip(keras.layers.Layer):
    """The CIFAR-10 augmentation of torchvision's ``RandomCrop(32, padding=4)`` and
    ``RandomHorizontalFlip()``: each training image is zero-padded by ``pad``
    pixels, cropped back to its size at a random offset and mirrored left-right
    with probability 1/2, independently per image. At inference it is the
    identity."""

    def __init__(self, pad: int = 4, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training:
            return x
        n, h, w = ops.shape(x)[0], x.shape[1], x.shape[2]
        padded = ops.pad(x, [[0, 0], [self.pad, self.pad], [self.pad, self.pad], [0, 0]])
        span = 2 * self.pad + 1
        dy = keras.random.randint((n, 1), 0, span, seed=self.generator)
        dx = keras.random.randint((n, 1), 0, span, seed=self.generator)
        flip = keras.random.uniform((n, 1), seed=self.generator) < 0.5
        rows = dy + ops.arange(h)[None, :]                          # (n, h)
        cols = ops.where(flip, w - 1 - ops.arange(w)[None, :], ops.arange(w)[None, :]) + dx
        picked = ops.take_along_axis(padded, rows[:, :, None, None], axis=1)   # (n, h, w+2p, c)
        return ops.take_along_axis(picked, cols[:, None, :, None], axis=2)     # (n, h, w, c)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "seed": self.seed}


def augmented(model: keras.Model, kind: str, seed: int) -> keras.Model:
    """``model`` behind the training-time augmentation ``kind``."""
    if kind not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {kind!r}; allowed: {list(AUGMENTATIONS)}")
    inputs = keras.Input(model.input_shape[1:])
    return keras.Model(inputs, model(PadCropFlip(pad=4, seed=seed, name="pad_crop_flip")(inputs)),
                       name=f"{model.name}_{kind}")

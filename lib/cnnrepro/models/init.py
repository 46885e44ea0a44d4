"""Initialisers as PyTorch and torchvision set them, for Keras layers.

Every function returns *new* initialiser objects, one set per layer. Keras gives an
unseeded initialiser one integer seed when the object is created (drawn from the
generator ``keras.utils.set_random_seed`` seeds), so an object shared by several
layers, or created when a module is imported, starts every kernel of the same shape
from the same values and ties a run's starting weights to whatever the process did
before (tests/test_models.py checks both).
"""

import math

import keras


def he_fan_out() -> dict:
    """torchvision's convolutions (``kaiming_normal_(mode="fan_out",
    nonlinearity="relu")``): normal with variance 2 / (kernel area x filters)."""
    return {"kernel_initializer": keras.initializers.VarianceScaling(2.0, "fan_out",
                                                                     "untruncated_normal")}


def torch_default(fan_in: int) -> dict:
    """PyTorch's default for ``Conv2d`` and ``Linear``: kernel and bias uniform in
    +-1/sqrt(fan_in) (``kaiming_uniform_`` with a = sqrt(5) gives that bound)."""
    bound = 1 / math.sqrt(fan_in)
    return {"kernel_initializer": keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound)}


def normal(stddev: float) -> dict:
    """torchvision's VGG dense layers: kernel N(0, stddev^2), zero bias."""
    return {"kernel_initializer": keras.initializers.RandomNormal(0.0, stddev)}

"""Multiply-accumulate counts of a Keras model's forward pass, from its layers.

Counted: convolutions (output positions x kernel area x input channels x
filters) and dense layers (inputs x units). Not counted: biases, batch norm,
activations, pooling, additions; the same convention as the ResNet paper's
FLOPs (1.8 x 10^9 for ResNet-18), which are multiply-adds.
"""

from __future__ import annotations

import numpy as np
from keras import layers


def layer_macs(layer) -> int:
    if isinstance(layer, layers.Conv2D):
        out_h, out_w, filters = layer.output.shape[1:]
        kh, kw = layer.kernel_size
        in_channels = layer.input.shape[-1] // layer.groups
        return int(out_h * out_w * kh * kw * in_channels * filters)
    if isinstance(layer, layers.Dense):
        return int(np.prod(layer.input.shape[1:]) * layer.units)
    if hasattr(layer, "layers"):  # a nested model
        return model_macs(layer)
    return 0


def model_macs(model) -> int:
    """Multiply-accumulates of one forward pass of one example."""
    return sum(layer_macs(layer) for layer in model.layers)


def training_flops(model) -> int:
    """Floating-point operations of one training step per example: forward plus
    backward is about 3 forward passes, each multiply-add 2 operations."""
    return 6 * model_macs(model)

"""ResNet (He et al., 2016) at depths 18, 34, 50, 101 and 152 from one builder:
basic blocks (two 3x3 convolutions) or bottleneck blocks (1x1, 3x3, 1x1 with 4x
expansion), batch norm after every convolution, projection shortcuts (1x1
convolution + batch norm) where the shape changes.

Bottleneck blocks downsample in the 3x3 convolution (stride 2 there, not in the
first 1x1): the torchvision variant the QMUL report uses ("ResNet v1.5").

``stem="imagenet"``: 7x7/2 convolution and 3x3/2 max pool, for 224x224 inputs.
``stem="small"``: one 3x3/1 convolution and no pool, the usual adaptation to 32x32
(CIFAR-sized) inputs, where the ImageNet stem would shrink 32 pixels to 8.

Computed as torchvision computes it (the QMUL report worked in PyTorch):

- strided convolutions and the stem's max pool pad symmetrically (kernel // 2 on
  every side, then "valid"); Keras's "same" pads an even input only at the bottom
  and right, which shifts every sampled position by one pixel;
- He normal (fan-out) convolutions, batch norm starting at scale 1 and shift 0, and
  the output layer initialised as PyTorch's ``Linear`` (uniform in
  +-1/sqrt(fan_in), bias too), so the first loss is about ln(classes);
- batch-norm moving averages that keep 0.9 of the old value per update (PyTorch's
  momentum 0.1; Keras's default keeps 0.99, which leaves them stale for hundreds of
  updates).
"""

import keras
from keras import layers

from .init import he_fan_out, torch_default
from .names import DEPTHS

STAGE_WIDTHS = (64, 128, 256, 512)
EXPANSION = {"basic": 1, "bottleneck": 4}


def conv(x, filters, kernel, stride, name):
    """A bias-free convolution padded as torchvision pads it: symmetrically by
    kernel // 2 (a 1x1 convolution needs none)."""
    if stride > 1 and kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=stride,
                         padding="valid" if stride > 1 else "same", use_bias=False,
                         name=name, **he_fan_out())(x)


def conv_bn(x, filters, kernel, stride, name, relu=True):
    x = conv(x, filters, kernel, stride, f"{name}_conv")
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def residual_unit(x, kind: str, width: int, stride: int, name: str):
    """One block: F(x) + shortcut(x), then ReLU."""
    out_channels = width * EXPANSION[kind]
    if kind == "basic":
        y = conv_bn(x, width, 3, stride, f"{name}_1")
        y = conv_bn(y, width, 3, 1, f"{name}_2", relu=False)
    else:
        y = conv_bn(x, width, 1, 1, f"{name}_1")
        y = conv_bn(y, width, 3, stride, f"{name}_2")           # v1.5: stride on the 3x3
        y = conv_bn(y, out_channels, 1, 1, f"{name}_3", relu=False)
    shortcut = x
    if stride != 1 or x.shape[-1] != out_channels:
        shortcut = conv_bn(x, out_channels, 1, stride, f"{name}_proj", relu=False)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_out")(y)


def resnet(depth=18, input_shape=(224, 224, 3), classes=1000, stem="imagenet", name=None):
    if depth not in DEPTHS:
        raise ValueError(f"unknown ResNet depth {depth!r}; allowed: {list(DEPTHS)}")
    if stem not in ("imagenet", "small"):
        raise ValueError(f"unknown stem {stem!r}; allowed: ['imagenet', 'small']")
    kind, blocks = DEPTHS[depth]
    inputs = keras.Input(input_shape, name="image")
    if stem == "imagenet":
        x = conv_bn(inputs, 64, 7, 2, "conv1")
        # torchvision pads the pool by 1 with -inf; after a ReLU zeros pick the same
        # maxima
        x = layers.ZeroPadding2D(1, name="conv1_pool_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="conv1_pool")(x)
    else:
        x = conv_bn(inputs, 64, 3, 1, "conv1")
    for stage, (width, n) in enumerate(zip(STAGE_WIDTHS, blocks), start=2):
        for b in range(n):
            stride = 2 if b == 0 and stage > 2 else 1
            x = residual_unit(x, kind, width, stride, name=f"conv{stage}_{b + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(classes, activation="softmax", name="output",
                           **torch_default(x.shape[-1]))(x)
    return keras.Model(inputs, outputs, name=name or f"resnet{depth}")


def residual_unit_model(kind="basic", input_shape=(56, 56, 64), width=64, stride=1):
    """One block on its own, for drawing it."""
    inputs = keras.Input(input_shape, name="x")
    return keras.Model(inputs, residual_unit(inputs, kind, width, stride, "block"),
                       name=f"{kind}_block")


def resnet18(input_shape=(32, 32, 3), classes=10):
    """ResNet-18 as torchvision builds it (stride 2 on the 3x3 convolution, the
    ImageNet stem: 7x7/2 convolution and 3x3/2 max pool), here on 32x32 inputs,
    which the stem shrinks to 8x8."""
    return resnet(18, input_shape, classes, stem="imagenet", name="resnet18")


def resnet18_small_stem(input_shape=(32, 32, 3), classes=10):
    """ResNet-18 with the usual 32x32 stem (3x3/1 convolution, no max pool): 16 times
    the activations of ``resnet18`` at 32x32, and about 40 times the multiply-adds."""
    return resnet(18, input_shape, classes, stem="small", name="resnet18_small_stem")


def torchvision_name(layer: str) -> str:
    """The name torchvision's ResNet gives the module of Keras layer ``layer`` (for
    comparing the two layer by layer, or loading its weights): conv3_1_2_conv ->
    layer2.0.conv2, conv3_1_proj_bn -> layer2.0.downsample.1, output -> fc."""
    if layer == "output":
        return "fc"
    if layer in ("conv1_conv", "conv1_bn"):
        return "conv1" if layer.endswith("conv") else "bn1"
    stage, block, part, kind = layer.split("_")
    tail = (f"downsample.{0 if kind == 'conv' else 1}" if part == "proj"
            else f"{'conv' if kind == 'conv' else 'bn'}{part}")
    return f"layer{int(stage[4:]) - 1}.{int(block) - 1}.{tail}"

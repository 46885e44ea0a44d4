"""Model builders, one module per model family, registered by the name runs use."""

from . import concat_residual, pair_transfer, resnet, simple_cnn, vgg


def vgg16(input_shape=(32, 32, 3), classes=10):
    """VGG configuration D for 32x32 inputs: the 13 convolutions and 5 pools of the
    paper leave 1x1x512, so the classifier is 512-512 (dropout 0.5) instead of
    4096-4096, which at this size would add 19M parameters for 1 pixel."""
    return vgg.vgg("D", input_shape, classes, fc_units=(512, 512), name="vgg16")


def resnet18(input_shape=(32, 32, 3), classes=10):
    """ResNet-18 with the 32x32 stem (3x3/1 convolution, no max pool)."""
    return resnet.resnet(18, input_shape, classes, stem="small", name="resnet18")


MODELS = {
    "resnet_shallow": concat_residual.resnet_shallow,
    "resnet_deep": concat_residual.resnet_deep,
    "digit_classifier": pair_transfer.digit_classifier,
    "pair_classifier": pair_transfer.pair_classifier,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "simple_cnn": simple_cnn.simple_cnn,
}


def build_model(name: str, input_shape, classes: int):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}")
    return MODELS[name](input_shape=input_shape, classes=classes)

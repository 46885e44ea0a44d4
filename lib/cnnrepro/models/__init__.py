"""Model builders, one module per model family, registered by the name runs use."""

from . import concat_residual, pair_transfer, resnet, simple_cnn, uc_homework, vgg


def vgg16(input_shape=(32, 32, 3), classes=10):
    """VGG configuration D as the paper builds it (no batch norm; 4096-4096 classifier
    with dropout 0.5), for 32x32 inputs: the 13 convolutions and 5 pools leave
    1x1x512, which feeds the first 4096-unit layer directly. Initialised as
    torchvision's VGG (the QMUL report worked in PyTorch)."""
    return vgg.vgg("D", input_shape, classes, fc_units=(4096, 4096), init="torchvision",
                   name="vgg16")


def resnet18(input_shape=(32, 32, 3), classes=10):
    """ResNet-18 as torchvision builds it (stride 2 on the 3x3 convolution, the
    ImageNet stem: 7x7/2 convolution and 3x3/2 max pool), here on 32x32 inputs,
    which the stem shrinks to 8x8."""
    return resnet.resnet(18, input_shape, classes, stem="imagenet", name="resnet18")


def resnet18_small_stem(input_shape=(32, 32, 3), classes=10):
    """ResNet-18 with the usual 32x32 stem (3x3/1 convolution, no max pool): 16 times
    the activations of ``resnet18`` at 32x32, and about 40 times the multiply-adds."""
    return resnet.resnet(18, input_shape, classes, stem="small", name="resnet18_small_stem")


MODELS = {
    "resnet_shallow": concat_residual.resnet_shallow,
    "resnet_deep": concat_residual.resnet_deep,
    "digit_classifier": pair_transfer.digit_classifier,
    "pair_classifier": pair_transfer.pair_classifier,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet18_small_stem": resnet18_small_stem,
    "simple_cnn": simple_cnn.simple_cnn,
    "resnet": resnet.resnet,  # any depth and stem, by options
    "dnn": uc_homework.dnn,
    "convnet": uc_homework.convnet,
    "resnet50_block": uc_homework.resnet50_block,
}


def build_model(name: str, input_shape, classes: int, **options):
    """The registered model ``name``; ``options`` are its builder's keyword arguments
    (a run's ``extra["model_options"]``), e.g. ``conv_filters`` of ``simple_cnn``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}")
    return MODELS[name](input_shape=input_shape, classes=classes, **options)

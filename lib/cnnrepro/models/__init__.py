"""Model builders, one module per model family, registered by the name runs use."""

from . import concat_residual, pair_transfer

MODELS = {
    "resnet_shallow": concat_residual.resnet_shallow,
    "resnet_deep": concat_residual.resnet_deep,
    "digit_classifier": pair_transfer.digit_classifier,
    "pair_classifier": pair_transfer.pair_classifier,
}


def build_model(name: str, input_shape, classes: int):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}")
    return MODELS[name](input_shape=input_shape, classes=classes)

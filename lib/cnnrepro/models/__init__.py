"""Model builders, one module per model family, registered by the name runs use."""

from . import concat_residual

MODELS = {
    "resnet_shallow": concat_residual.resnet_shallow,
    "resnet_deep": concat_residual.resnet_deep,
}


def build_model(name: str, input_shape, classes: int):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}")
    return MODELS[name](input_shape=input_shape, classes=classes)

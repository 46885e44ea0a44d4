"""Model builders, one module per model family, registered by the name runs use.
Each family's module (and Keras) is imported only when a model is built."""

import importlib
import math

# name -> (module, builder)
MODELS = {
    "resnet_shallow": ("concat_residual", "resnet_shallow"),
    "resnet_deep": ("concat_residual", "resnet_deep"),
    "digit_classifier": ("pair_transfer", "digit_classifier"),
    "pair_classifier": ("pair_transfer", "pair_classifier"),
    "vgg16": ("vgg", "vgg16"),
    "resnet18": ("resnet", "resnet18"),
    "resnet18_small_stem": ("resnet", "resnet18_small_stem"),
    "simple_cnn": ("simple_cnn", "simple_cnn"),
    "resnet": ("resnet", "resnet"),  # any depth and stem, by options
    "dnn": ("uc_homework", "dnn"),
    "convnet": ("uc_homework", "convnet"),
    "resnet50_block": ("uc_homework", "resnet50_block"),
}

# name -> what a page calls the model: the source report's word where it has one
TITLES = {"dnn": "DNN", "convnet": "ConvNet", "resnet50_block": "ResNet", "vgg16": "VGG16",
          "resnet18": "ResNet18"}


def title(name: str) -> str:
    """The model ``name`` as a reader knows it ("resnet50_block" -> "ResNet")."""
    return TITLES.get(name, name)


def trainable_parameters(model) -> int:
    """How many of a Keras model's parameters training changes (batch-norm moving
    averages count in ``count_params()`` but are not trained)."""
    return sum(math.prod(w.shape) for w in model.trainable_weights)


def builder(name: str):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {sorted(MODELS)}")
    module, function = MODELS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def shapes_only():
    """A context in which models are built for their structure only (layer shapes,
    parameter counts, multiply-adds, diagrams): their weights are never
    initialised, which makes building a 138 M-parameter VGG take milliseconds
    instead of seconds. Such a model cannot predict or train."""
    import keras
    return keras.StatelessScope(initialize_variables=False)


def build_model(name: str, input_shape, classes: int, **options):
    """The registered model ``name``; ``options`` are its builder's keyword arguments
    (a run's ``extra["model_options"]``), e.g. ``conv_filters`` of ``simple_cnn``."""
    return builder(name)(input_shape=input_shape, classes=classes, **options)

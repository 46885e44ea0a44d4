"""Chapter 5: DNN vs ConvNet vs a ResNet-50-style network across learning rates
(Cincinnati, Deep Learning Homework 2)."""

from ..spec import (ChapterSpec, Protocol, ProtocolError, boolean, choice_list, int_list,
                    number_list, positive_int, positive_number)
from ..config import RunConfig

MODELS = ["dnn", "convnet", "resnet50_block"]
# "as printed": the report's SparseCategoricalCrossentropy(from_logits=True) on softmax
# outputs, run by Keras (on TensorFlow it uses the softmax's logits, so the call does
# no harm); "double softmax": what the call means as written (and what Keras on JAX
# computes); "corrected": from_logits=False, what the models' softmax calls for.
LOSSES = {"as printed": "from_logits", "double softmax": "double_softmax",
          "corrected": "categorical_crossentropy"}
MNIST_SIZES = (60000, 10000)


def validation_fraction(name: str, value) -> float:
    """Early stopping needs a validation set and training needs the rest: (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ProtocolError(f"{name}={value!r} is not allowed; allowed: a number in (0, 1)")
    return float(value)


def run_config(p: Protocol, model: str, learning_rate: float, loss: str, seed: int) -> RunConfig:
    extra = {"per_update_test": False, "validation_split": p.validation_split,
             "early_stopping": {"monitor": "val_loss", "patience": p.patience}}
    if LOSSES[loss] != "categorical_crossentropy":
        extra["loss"] = LOSSES[loss]
    return RunConfig(task="mnist", model=model, epochs=p.max_epochs, batch_size=p.batch_size,
                     seed=seed, optimizer="adam", learning_rate=learning_rate,
                     train_limit=None if p.train_images == MNIST_SIZES[0] else p.train_images,
                     test_limit=None if p.test_images == MNIST_SIZES[1] else p.test_images,
                     extra=extra)


def _configs(p: Protocol) -> list[RunConfig]:
    return [run_config(p, m, lr, loss, s) for loss in p.losses for m in p.models
            for lr in p.learning_rates for s in p.seeds]


# The report states the optimizer (Adam), the learning rates, the loss, the split
# (the 60,000 Keras training images, the 10,000 test images) and that it stops
# early on validation; the rest is chosen here and listed in the chapter.
_PAPER = {"models": MODELS, "learning_rates": [0.1, 0.01, 0.001, 0.0001], "losses": list(LOSSES),
          "seeds": [0], "batch_size": 32, "max_epochs": 20, "patience": 3,
          "validation_split": 0.1, "train_images": 60000, "test_images": 10000, "force": False}

# 40 minutes from an empty store on 2 cores for 36 runs. The ResNet is the heavy
# one: about 145 images/s at batch size 32 (the ConvNet about 1,000, the DNN about
# 2,800), so every run gets the first 4,000 training images (3,600 to fit, 400 to
# validate), 2,000 test images, and at most 5 epochs with a patience of 2.
_CPU = {**_PAPER, "train_images": 4000, "test_images": 2000, "max_epochs": 5, "patience": 2}

_SMOKE = {**_PAPER, "learning_rates": [0.1, 0.001], "train_images": 300, "test_images": 200,
          "max_epochs": 2, "patience": 1}

def loss_label(config: RunConfig) -> str:
    """The chapter's name for a run's loss ("as printed", "double softmax", "corrected")."""
    computed = config.extra.get("loss", "categorical_crossentropy")
    return next(name for name, value in LOSSES.items() if value == computed)


def labels(config: RunConfig) -> dict:
    """A run's model, learning rate, loss and seed, for the claims."""
    return {"model": config.model, "learning_rate": f"{config.learning_rate:g}",
            "loss": loss_label(config), "seed": config.seed}


SPEC = ChapterSpec(
    name="dnn_convnet_resnet",
    title="DNN vs ConvNet vs a ResNet-50-style network across learning rates (UC homework)",
    checks={"models": lambda n, v: choice_list(n, v, MODELS),
            "learning_rates": lambda n, v: number_list(n, v, positive_number),
            "losses": lambda n, v: choice_list(n, v, list(LOSSES)),
            "seeds": lambda n, v: int_list(n, v, minimum=0),
            "batch_size": positive_int,
            "max_epochs": positive_int,
            "patience": positive_int,
            "validation_split": validation_fraction,
            "train_images": lambda n, v: positive_int(n, v, MNIST_SIZES[0]),
            "test_images": lambda n, v: positive_int(n, v, MNIST_SIZES[1]),
            "force": boolean},
    profiles={"paper": _PAPER, "cpu": _CPU, "smoke": _SMOKE},
    deviations={
        "cpu": ["the first 4,000 training images instead of 60,000 (3,600 to fit, 400 to "
                "validate) and the first 2,000 test images instead of 10,000",
                "at most 5 epochs with a patience of 2 instead of 20 and 3"],
        "smoke": ["300 training and 200 test images, learning rates 0.1 and 0.001, at most "
                  "2 epochs with a patience of 1"]},
    configs=_configs,
    labels=labels,
)

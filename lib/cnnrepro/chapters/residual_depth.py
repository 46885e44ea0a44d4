"""Chapter 1: concatenation "residual" CNNs of two depths (Report 2)."""

from ..protocol import (ChapterSpec, Protocol, ProtocolError, boolean, choice_list, int_list,
                        positive_int, register)
from ..config import RunConfig


def _residual_depth_configs(p: Protocol) -> list[RunConfig]:
    return [RunConfig(task="mnist", model=m, epochs=p.epochs, batch_size=bs, seed=s,
                      optimizer="adam", learning_rate=1e-3,
                      train_limit=None if p.train_images == 60000 else p.train_images,
                      test_limit=None if p.test_images == 10000 else p.test_images)
            for bs in p.batch_sizes for m in p.models for s in p.seeds]


def _test_batch_fits(values: dict) -> None:
    if max(values["batch_sizes"]) > values["test_images"]:
        raise ProtocolError(
            f"batch_sizes={values['batch_sizes']} needs test_images >= {max(values['batch_sizes'])} "
            f"(a random test batch of batch_size is drawn after every update); "
            f"got test_images={values['test_images']}")


_RESIDUAL_PAPER = {"models": ["resnet_shallow", "resnet_deep"], "batch_sizes": [64, 128],
                   "seeds": [0, 1, 2, 3, 4], "epochs": 1, "train_images": 60000,
                   "test_images": 10000, "force": False}

register(ChapterSpec(
    name="residual_depth",
    title="Concatenation 'residual' CNNs of two depths (Report 2)",
    checks={"models": lambda n, v: choice_list(n, v, ["resnet_shallow", "resnet_deep"]),
            "batch_sizes": int_list,
            "seeds": lambda n, v: int_list(n, v, minimum=0),
            "epochs": positive_int,
            "train_images": lambda n, v: positive_int(n, v, 60000),
            "test_images": lambda n, v: positive_int(n, v, 10000),
            "force": boolean},
    profiles={"paper": _RESIDUAL_PAPER, "cpu": _RESIDUAL_PAPER,
              "smoke": {**_RESIDUAL_PAPER, "seeds": [0], "train_images": 384,
                        "test_images": 256}},
    deviations={"smoke": ["384 training and 256 test images instead of 60,000 and 10,000",
                          "one seed instead of five"]},
    configs=_residual_depth_configs,
    cross_check=_test_batch_fits,
))

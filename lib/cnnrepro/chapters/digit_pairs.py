"""Chapter 2: are two digits the same number? Pairs and transfer learning (Report 3).

Per seed: phase 1 trains the extractor with the 10-class head on the first
``source_train`` MNIST images (each duplicated into both channels) and keeps
the extractor's weights; phase 2 starts from them and trains the 2-class head
on the pairs, with the extractor frozen (the report) or fine-tuned at a smaller
learning rate (the fix its discussion proposes).
"""

from ..data import load_mnist
from ..models.names import EXTRACTOR
from ..pairs import pair_capacity
from ..spec import (ChapterSpec, Protocol, ProtocolError, boolean, choice_list, fraction,
                    int_list, non_negative_int, positive_int)
from ..config import RunConfig, Transfer

VARIANTS = ("frozen", "fine_tuned")


def phase1_config(p: Protocol, seed: int) -> RunConfig:
    return RunConfig(task="mnist_2ch", model="digit_classifier", epochs=p.phase1_epochs,
                     batch_size=p.batch_size, seed=seed, optimizer="adam", learning_rate=1e-3,
                     train_limit=p.source_train, test_limit=p.source_test,
                     extra={"keep_weights": [EXTRACTOR]})


def phase2_config(p: Protocol, seed: int, variant: str) -> RunConfig:
    multiplier = 0.0 if variant == "frozen" else p.finetune_lr_multiplier
    pairs = {"source_train": p.source_train, "source_test": p.source_test,
             "train_pairs": p.train_pairs, "test_pairs": p.test_pairs, "pair_seed": p.pair_seed}
    return RunConfig(task="mnist_pairs", model="pair_classifier", epochs=p.phase2_epochs,
                     batch_size=p.batch_size, seed=seed, optimizer="adam", learning_rate=1e-3,
                     extra={"task": pairs,
                        **Transfer.extra(phase1_config(p, seed), [EXTRACTOR], multiplier)})


def variant_of(config: RunConfig) -> str:
    return "frozen" if Transfer.from_config(config).lr_multiplier == 0 else "fine_tuned"


def _configs(p: Protocol) -> list[RunConfig]:
    return [c for s in p.seeds
            for c in (phase1_config(p, s), *(phase2_config(p, s, v) for v in p.variants))]


def _pairs_fit(values: dict) -> None:
    """Enough distinct pairs of each kind, and a random test batch to draw."""
    y = load_mnist()
    for split, labels, key in (("train", y.y_train[:values["source_train"]], "train_pairs"),
                           ("test", y.y_test[:values["source_test"]], "test_pairs")):
        same, different = pair_capacity(labels)
        if values[key] // 2 > min(same, different):
            raise ProtocolError(f"{key}={values[key]} is not allowed: the first "
                            f"{len(labels)} {split} images give only {same} same-digit "
                            f"pairs; allowed: at most {2 * min(same, different)}")
    if values["batch_size"] > min(values["test_pairs"], values["source_test"]):
        raise ProtocolError(f"batch_size={values['batch_size']} needs test_pairs and source_test "
                        f">= {values['batch_size']} (a random test batch is drawn after "
                        f"every update)")


PAPER = {"seeds": [0, 1, 2, 3, 4], "batch_size": 64, "phase1_epochs": 2, "phase2_epochs": 2,
         "source_train": 6000, "source_test": 1000, "train_pairs": 100_000,
         "test_pairs": 10_000, "pair_seed": 0, "variants": list(VARIANTS),
         "finetune_lr_multiplier": 0.1, "force": False}

def labels(config: RunConfig) -> dict:
    """A run's model, seed and (phase 2) extractor variant, for the claims."""
    variant = variant_of(config) if config.model == "pair_classifier" else "none"
    return {"model": config.model, "variant": variant, "seed": config.seed}


SPEC = ChapterSpec(
    name="digit_pairs",
    title="Are two digits the same number? Pairs and transfer learning (Report 3)",
    checks={"seeds": lambda n, v: int_list(n, v, minimum=0),
            "batch_size": positive_int,
            "phase1_epochs": positive_int,
            "phase2_epochs": positive_int,
            "source_train": lambda n, v: positive_int(n, v, 60000),
            "source_test": lambda n, v: positive_int(n, v, 10000),
            "train_pairs": positive_int,
            "test_pairs": positive_int,
            "pair_seed": non_negative_int,
            "variants": lambda n, v: choice_list(n, v, VARIANTS),
            "finetune_lr_multiplier": fraction,
            "force": boolean},
    profiles={"paper": PAPER, "cpu": PAPER,
              "smoke": {**PAPER, "seeds": [0], "source_train": 640, "source_test": 256,
                    "train_pairs": 1280, "test_pairs": 512}},
    deviations={"smoke": ["the first 640 training and 256 test images, 1,280 training and "
                      "512 test pairs, instead of 6,000 / 1,000 and 100,000 / 10,000",
                      "one seed instead of five"]},
    configs=_configs,
    labels=labels,
    cross_check=_pairs_fit,
)

"""What identifies a run: its config (every setting that changes its numbers) and the
key the results store files it under. Imports no Keras, so that validating a
chapter's parameters and listing its runs is instant."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

# Bump when the meaning of a stored run changes (training loop, data
# preparation, what is recorded); runs of an older version are not reused.
TRAINING_CODE_VERSION = 1


@dataclass(frozen=True)
class RunConfig:
    """Every setting that changes the result of one training run."""

    task: str
    model: str
    epochs: int
    batch_size: int
    seed: int
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    train_limit: int | None = None  # keep the first N training images (None: all)
    test_limit: int | None = None
    precision: str = "float32"
    extra: dict = field(default_factory=dict)  # model- or chapter-specific settings

    def canonical(self) -> dict:
        d = dataclasses.asdict(self)
        d["code_version"] = TRAINING_CODE_VERSION
        return d

    def key(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_canonical(cls, d: dict) -> "RunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def label(self) -> str:
        """A line for logs: what tells this run from its neighbours in a chapter."""
        text = f"{self.model} bs={self.batch_size} seed={self.seed} epochs={self.epochs}"
        details = {**self.extra.get("model_options", {}), **self.extra.get("optimizer_options", {}),
                   **{k: self.extra[k] for k in ("l2", "class_weight", "loss") if k in self.extra}}
        if self.optimizer != "adam" or self.learning_rate != 1e-3 or details:
            text += f" {self.optimizer} lr={self.learning_rate:g}"
        text += "".join(f" {k}={v}" for k, v in details.items())
        if "transfer" in self.extra:
            text += f" ({Transfer.from_config(self).describe()})"
        return text


@dataclass(frozen=True)
class Transfer:
    """Start some layers from another run's weights (``extra["transfer"]``).

    ``lr_multiplier`` 0 freezes them (``trainable = False``, which also keeps batch
    norm in inference mode, as Keras freezing does); otherwise they train with
    the learning rate times the multiplier.
    """

    source: RunConfig
    layers: tuple[str, ...]
    lr_multiplier: float

    @classmethod
    def from_config(cls, config: RunConfig) -> "Transfer | None":
        t = config.extra.get("transfer")
        if t is None:
            return None
        return cls(RunConfig.from_canonical(t["from"]), tuple(t["layers"]),
                   float(t["lr_multiplier"]))

    @staticmethod
    def extra(source: RunConfig, layers, lr_multiplier: float) -> dict:
        """The ``extra`` entry of a run that starts ``layers`` from ``source``."""
        return {"transfer": {"from": source.canonical(), "layers": list(layers),
                             "lr_multiplier": lr_multiplier}}

    def describe(self) -> str:
        what = "+".join(self.layers)
        return f"{what} frozen" if self.lr_multiplier == 0 else \
            f"{what} fine-tuned at lr x{self.lr_multiplier:g}"

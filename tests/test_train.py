import keras
import numpy as np
import pandas as pd
import pytest

from cnnrepro import train
from cnnrepro.data import prepare_task
from conftest import needs_mirror

pytestmark = needs_mirror

SMALL = train.RunConfig(task="mnist", model="resnet_shallow", epochs=2, batch_size=64,
                        seed=3, train_limit=200, test_limit=128)


def test_same_seed_same_numbers():
    a, b = train.train(SMALL, verbose=0), train.train(SMALL, verbose=0)
    pd.testing.assert_frame_equal(a.updates, b.updates)
    assert np.array_equal(a.test_probs, b.test_probs)
    c = train.train(train.RunConfig(**{**SMALL.__dict__, "seed": 4}), verbose=0)
    assert not c.updates["loss"].equals(a.updates["loss"])


def test_history_shapes_and_ranges():
    result = train.train(SMALL, verbose=0)
    # 200 images in batches of 64: 4 updates per epoch, the last of 8 images
    assert len(result.updates) == 8 and result.updates["update"].tolist() == list(range(1, 9))
    assert result.updates["accuracy"].between(0, 1).all()
    assert result.updates["val_accuracy"].between(0, 1).all()
    assert len(result.epochs) == 2
    assert set(result.epochs.columns) >= {"loss", "accuracy", "test_accuracy", "test_top5_accuracy"}
    assert result.metrics["accuracy"] == pytest.approx(result.epochs["test_accuracy"].iloc[-1])
    # the epoch's mean training loss is the sample-weighted mean of its batch losses
    first = result.updates[result.updates["epoch"] == 1]
    weights = np.array([64, 64, 64, 8])
    assert np.average(first["loss"], weights=weights) == pytest.approx(result.epochs["loss"][0], rel=1e-4)


def test_per_update_loss_is_the_loss_of_that_batch():
    """With a zero learning rate and no shuffling, batch k's loss can be computed
    directly (batch norm in training mode uses the batch's own statistics)."""
    task = prepare_task("mnist", train_limit=192, test_limit=64)
    keras.utils.set_random_seed(0)
    config = train.RunConfig(**{**SMALL.__dict__, "epochs": 1, "optimizer": "sgd",
                                "learning_rate": 0.0})
    model = train.compile_model(config, task)
    history = train.UpdateHistory(task, 64, seed=0)
    model.fit(task.x_train, task.y_train, batch_size=64, epochs=1, shuffle=False,
              callbacks=[history], verbose=0)
    for k, row in enumerate(history.update_rows):
        xb, yb = task.x_train[64 * k: 64 * (k + 1)], task.y_train[64 * k: 64 * (k + 1)]
        probs = np.asarray(model(xb, training=True), dtype=np.float64)
        expected = -np.mean(np.log(np.clip((probs * yb).sum(axis=1), 1e-7, 1)))
        assert row["loss"] == pytest.approx(expected, rel=1e-3)
        assert row["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == yb.argmax(1)))

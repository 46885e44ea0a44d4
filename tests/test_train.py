import keras
import numpy as np
import pandas as pd
import pytest

from cnnrepro import train
from cnnrepro.data import prepare_task
from cnnrepro.models import build_model
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


def test_scaled_optimizer_scales_the_named_variables_step():
    """One Adam step moves every weight by about the learning rate; a variable
    with multiplier 0.1 moves a tenth as far."""
    a, b = keras.Variable(np.zeros(3, "float32")), keras.Variable(np.zeros(3, "float32"))
    opt = train.scaled_optimizer("adam", 1e-2, [(b, 0.1)])
    grad = keras.ops.ones(3)
    opt.apply([grad, grad], [a, b])
    step_a, step_b = -np.asarray(a.numpy()), -np.asarray(b.numpy())
    assert step_a == pytest.approx(np.full(3, 1e-2), rel=1e-3)
    assert step_b == pytest.approx(np.full(3, 1e-3), rel=1e-3)


PHASE1 = train.RunConfig(task="mnist_2ch", model="digit_classifier", epochs=1, batch_size=32,
                         seed=0, train_limit=96, test_limit=64,
                         extra={"keep_weights": ["feature_extraction"]})
PAIRS = {"source_train": 96, "source_test": 64, "train_pairs": 96, "test_pairs": 64,
         "pair_seed": 0}


def phase2(multiplier):
    return train.RunConfig(task="mnist_pairs", model="pair_classifier", epochs=1,
                           batch_size=32, seed=0, extra={
                               "task": PAIRS,
                               **train.Transfer.extra(PHASE1, ["feature_extraction"], multiplier)})


def fitted(config, weights):
    task = prepare_task("mnist_pairs", **PAIRS)
    model = train.compile_model(config, task, weights)
    model.fit(task.x_train, task.y_train, batch_size=32, epochs=1, verbose=0)
    return model.get_layer("feature_extraction").get_weights()


def test_transfer_freezes_or_fine_tunes_the_source_layers():
    source = train.train(PHASE1, verbose=0)
    assert sorted(source.weights) == sorted(f"feature_extraction/{i}" for i in range(36))
    start = [source.weights[f"feature_extraction/{i}"] for i in range(36)]
    # frozen: not one weight moved, batch-norm statistics included
    assert all(np.array_equal(a, b) for a, b in zip(fitted(phase2(0.0), source.weights), start))
    # fine-tuned: the extractor trains
    assert not all(np.array_equal(a, b) for a, b in zip(fitted(phase2(0.1), source.weights), start))
    with pytest.raises(ValueError, match="starts from another run's weights"):
        train.train(phase2(0.0), verbose=0)
    assert "frozen" in phase2(0.0).label() and "lr x0.1" in phase2(0.1).label()


def test_store_trains_the_source_run_first_and_keeps_its_weights(tmp_store):
    run = tmp_store.get_or_train(phase2(0.0), verbose=0, log=lambda m: None)
    assert tmp_store.has(PHASE1) and (tmp_store.path(PHASE1) / "weights.npz").is_file()
    assert not (run.path / "weights.npz").exists()
    # 6 convolutions (kernel, bias), 6 batch norms (4 each)
    assert len(tmp_store.load_weights(tmp_store.load(PHASE1))) == 36
    with pytest.raises(KeyError, match="kept no weights"):
        tmp_store.load_weights(run)


def test_optimizer_options_reach_the_optimizer_and_the_test_batch_can_be_off():
    config = train.RunConfig(task="mnist", model="simple_cnn", epochs=1, batch_size=64, seed=0,
                             optimizer="sgd", learning_rate=0.01, train_limit=128, test_limit=64,
                             extra={"optimizer_options": {"momentum": 0.9},
                                    "per_update_test": False})
    model = train.compile_model(config, prepare_task("mnist", 128, 64))
    assert model.optimizer.momentum == 0.9
    result = train.train(config, verbose=0)
    assert "val_loss" not in result.updates and len(result.updates) == 2
    assert result.timing["eval_seconds"] > 0   # the per-epoch test pass is still timed
    with pytest.raises(ValueError, match="momentun"):   # a misspelt option is refused
        train.scaled_optimizer("sgd", 0.1, momentun=0.9)


def test_l2_is_added_to_the_gradient_as_pytorch_weight_decay_does():
    """SGD with momentum 0.9 and l2 0.5: two steps of PyTorch's rule, buf = m*buf + (g + l2*w),
    w -= lr*buf, worked by hand."""
    w = keras.Variable(np.array([2.0, -4.0], "float32"))
    opt = train.scaled_optimizer("sgd", 0.1, l2=0.5, momentum=0.9)
    grad = keras.ops.convert_to_tensor(np.array([1.0, 1.0], "float32"))
    expected, buf = np.array([2.0, -4.0]), np.zeros(2)
    for _ in range(2):
        opt.apply([grad], [w])
        buf = 0.9 * buf + (1.0 + 0.5 * expected)
        expected = expected - 0.1 * buf
    assert np.asarray(w.numpy()) == pytest.approx(expected, rel=1e-6)


def test_inverse_frequency_class_weights():
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    w = train.class_weights("inverse_frequency", labels, 3)
    assert w == pytest.approx({0: 10 / 18, 1: 10 / 9, 2: 10 / 3})
    assert train.class_weights(None, labels, 3) is None
    with pytest.raises(ValueError, match="'balanced'.*inverse_frequency"):
        train.class_weights("balanced", labels, 3)


def test_a_diverging_run_stops_at_the_first_nan_loss_and_says_where():
    config = train.RunConfig(task="mnist", model="simple_cnn", epochs=3, batch_size=32, seed=0,
                             optimizer="sgd", learning_rate=1e30, train_limit=256, test_limit=64,
                             extra={"model_options": {"conv_filters": [4]},
                                    "per_update_test": False})
    result = train.train(config, verbose=0)
    at = result.metrics["diverged_at_update"]
    assert at is not None and len(result.updates) == at < 3 * 8
    assert not np.isfinite(result.updates["loss"].iloc[-1])
    assert np.isfinite(result.updates["loss"].iloc[:-1]).all()
    assert np.isnan(result.metrics["accuracy"]) and len(result.epochs) == 1


def test_balanced_loss_weights_the_loss_but_not_the_accuracy():
    base = dict(task="mnist", model="simple_cnn", epochs=1, batch_size=64, seed=0,
                optimizer="sgd", learning_rate=0.0, train_limit=128, test_limit=64)
    plain = train.train(train.RunConfig(**base, extra={"model_options": {"conv_filters": [4]},
                                                      "per_update_test": False}), verbose=0)
    weighted = train.train(train.RunConfig(**base, extra={
        "model_options": {"conv_filters": [4]}, "per_update_test": False,
        "class_weight": "inverse_frequency"}), verbose=0)
    # same weights (learning rate 0), so the accuracy per batch is the same and the loss not
    assert weighted.updates["accuracy"].tolist() == plain.updates["accuracy"].tolist()
    assert not np.allclose(weighted.updates["loss"], plain.updates["loss"])


@pytest.mark.filterwarnings("ignore:.*from_logits=True.*:UserWarning")  # Keras's, expected
def test_double_softmax_has_a_floor_and_keras_on_tensorflow_ignores_from_logits_on_softmax():
    y = np.eye(10, dtype="float32")[[0]]
    perfect = keras.ops.convert_to_tensor(y)
    floor = float(train.double_softmax_crossentropy(perfect, perfect)[0])
    assert floor == pytest.approx(np.log(1 + 9 / np.e), rel=1e-5)
    task = prepare_task("mnist", train_limit=96, test_limit=64)

    def trained(loss):  # the same network, data and seed under the three losses
        train.seed_everything(0)
        model = train.compile_for_training(build_model("convnet", (28, 28, 1), 10), "adam", 1e-3,
                                           loss=loss)
        history = model.fit(task.x_train, task.y_train, batch_size=32, epochs=1, shuffle=False,
                            verbose=0).history
        return history["loss"][0], model.get_weights()

    plain, written, double = (trained(loss) for loss in
                              ("categorical_crossentropy", "from_logits", "double_softmax"))
    # config.computed_loss rests on this: the report's call computes the plain loss on
    # TensorFlow (Keras uses the softmax's logits) and the double softmax elsewhere
    twin = plain if keras.backend.backend() == "tensorflow" else double
    assert written[0] == twin[0]
    assert all(np.array_equal(a, b) for a, b in zip(written[1], twin[1]))
    assert plain[0] != double[0] and double[0] >= floor - 1e-4
    with pytest.raises(ValueError, match="'hinge'.*double_softmax"):
        train.compile_for_training(keras.Sequential([keras.layers.Dense(2)]), "adam", 0.1,
                                   loss="hinge")


def test_early_stopping_keeps_the_best_epoch_and_validates_on_the_held_out_tail():
    config = train.RunConfig(task="mnist", model="dnn", epochs=6, batch_size=32, seed=0,
                             learning_rate=0.05, train_limit=200, test_limit=128, extra={
                                 "per_update_test": False, "validation_split": 0.2,
                                 "early_stopping": {"monitor": "val_loss", "patience": 1}})
    result = train.train(config, verbose=0)
    assert train.fit_size(200, 0.2) == 160
    assert len(result.updates[result.updates["epoch"] == 1]) == 5     # 160 images / 32
    epochs = result.epochs.set_index("epoch")
    assert {"val_loss", "val_accuracy"} <= set(epochs.columns)
    best = result.metrics["best_epoch"]
    assert best == epochs["val_loss"].idxmin()
    assert result.metrics["epochs_trained"] == len(epochs)
    # the final test metrics are those of the restored best epoch
    assert result.metrics["accuracy"] == pytest.approx(epochs.loc[best, "test_accuracy"])

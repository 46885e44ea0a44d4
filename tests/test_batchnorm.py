"""Batch-norm re-estimation: the averages become the training images' batch
statistics, nothing else changes, and a rebuilt run predicts as it was trained."""
import keras
import numpy as np
import pytest

from cnnrepro import batchnorm
from cnnrepro.config import RunConfig
from cnnrepro.train import kept_weights, trained_model


def net(nested: bool = False) -> keras.Model:
    inputs = keras.Input((3,))
    body = keras.Sequential([keras.layers.Dense(4, kernel_initializer="identity"),
                             keras.layers.BatchNormalization(momentum=0.99)], name="body")
    x = body(inputs) if nested else body.layers[1](body.layers[0](inputs))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(5.0, 2.0, (n, 3))).astype("float32")


@pytest.mark.parametrize("nested", [False, True])
def test_batch_norms_are_found_in_nested_models(nested):
    assert len(batchnorm.batch_norms(net(nested))) == 1


@pytest.mark.parametrize("nested", [False, True])
def test_reestimated_averages_are_the_mean_of_the_batch_statistics(nested):
    model, x = net(nested), data(500)
    bn = batchnorm.batch_norms(model)[0]
    assert batchnorm.reestimate(model, x, batch_size=128) == 4  # the last batch: 116 images
    batches = [x[s:s + 128] for s in range(0, 500, 128)]  # each weighs the same
    expected_mean = np.pad(np.mean([b.mean(axis=0) for b in batches], axis=0), (0, 1))  # identity pads 0
    expected_var = np.pad(np.mean([b.var(axis=0) for b in batches], axis=0), (0, 1))
    np.testing.assert_allclose(np.asarray(bn.moving_mean), expected_mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), expected_var, rtol=1e-4, atol=1e-5)
    assert bn.momentum == 0.99  # put back


def test_batch_statistics_and_rescore_leave_the_averages_as_trained():
    model, x = net(), data()
    bn = batchnorm.batch_norms(model)[0]
    before = np.asarray(bn.moving_mean).copy()
    labels = (x[:, 0] > 5).astype(int)
    table = batchnorm.rescore(model, x, x, labels, batch_size=64)
    np.testing.assert_array_equal(np.asarray(bn.moving_mean), before)
    assert list(table.index) == list(batchnorm.SETTINGS)
    # stale averages (0 and 1 against inputs near 5): the re-estimated scores differ
    as_trained = batchnorm.predict(model, x)
    assert table.loc["as trained", "accuracy"] == pytest.approx(
        float(np.mean(as_trained.argmax(1) == labels)))
    assert table["classes predicted"].max() <= 2


def test_a_model_without_batch_norm_is_refused():
    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match="has no batch-norm layer"):
        batchnorm.reestimate(keras.Model(inputs, keras.layers.Dense(2)(inputs)), data())


def test_a_run_that_kept_all_weights_is_rebuilt_exactly():
    config = RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=32, seed=0,
                       train_limit=64, test_limit=32)
    shape, classes = (28, 28, 1), 10
    from cnnrepro.models import build_model
    original = build_model("resnet_shallow", shape, classes)
    weights = kept_weights(original, "all")
    fake = type("T", (), {"input_shape": shape, "class_names": list(range(classes))})()
    rebuilt = trained_model(config, fake, weights)
    x = np.random.default_rng(0).random((8, *shape)).astype("float32")
    np.testing.assert_array_equal(np.asarray(rebuilt(x)), np.asarray(original(x)))

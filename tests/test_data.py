import shutil

import numpy as np
import pytest

from cnnrepro import data
from conftest import needs_mirror

pytestmark = needs_mirror


def test_mnist_shapes_dtypes_and_known_facts():
    ds = data.load_mnist()
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [5923, 6742, 5958, 6131, 5842,
                                                5421, 5918, 6265, 5851, 5949]
    assert np.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982,
                                               892, 958, 1028, 974, 1009]
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert ds.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert ds.source["sha256"] == data.MNIST_SHA256


def test_mnist_task_is_scaled_one_hot_and_limited():
    task = data.prepare_task("mnist", train_limit=100, test_limit=50)
    assert task.x_train.shape == (100, 28, 28, 1) and task.x_train.dtype == np.float32
    assert 0.0 <= task.x_train.min() and task.x_train.max() <= 1.0
    assert task.y_train.shape == (100, 10) and np.all(task.y_train.sum(axis=1) == 1)
    assert task.labels_test.tolist()[:3] == [7, 2, 1]


def test_unknown_task_names_allowed_ones():
    with pytest.raises(ValueError, match=r"'imagenet'.*allowed: \['cifar10', 'mnist', 'mnist_2ch', "
                                         r"'mnist_32x3', 'mnist_pairs'\]"):
        data.prepare_task("imagenet")


def test_corrupt_file_names_variable_file_and_checksum(tmp_path, monkeypatch):
    bad = tmp_path / data.MNIST_FILE
    shutil.copy(data.Path(data.os.environ[data.DATA_DIR_VAR]) / data.MNIST_FILE, bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"\x00corrupt")
    monkeypatch.setenv(data.DATA_DIR_VAR, str(tmp_path))
    with pytest.raises(data.DataError) as err:
        data.load_mnist()
    msg = str(err.value)
    assert str(bad) in msg and data.MNIST_SHA256 in msg and data.DATA_DIR_VAR in msg


def test_missing_file_names_variable_file_and_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_VAR, str(tmp_path))
    with pytest.raises(data.DataError) as err:
        data.load_cifar10()
    msg = str(err.value)
    assert data.DATA_DIR_VAR in msg and data.CIFAR10_FILE in msg and data.CIFAR10_SHA256 in msg


def test_cifar10_decoded_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_DIR_VAR, str(tmp_path))
    ds = data.load_cifar10()
    assert ds.x_train.shape == (50000, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(ds.y_train).tolist() == [5000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert "JPEG" in ds.source["origin"]
    # per-channel means as published for the JPEG re-encoding
    means = ds.x_train.reshape(-1, 3).mean(axis=0)
    assert np.allclose(means, [125.27, 122.93, 113.86], atol=0.6)
    cached = list(tmp_path.glob("cifar10-jpeg-*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(data, "_decode_cifar_zip", lambda path: pytest.fail("decoded twice"))
    assert data.load_cifar10().x_test.shape == (10000, 32, 32, 3)


def test_balanced_first_takes_each_class_in_turn():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])   # grouped by class, as the CIFAR mirror
    assert data.balanced_first(labels, 5).tolist() == [0, 3, 5, 1, 4]
    assert data.balanced_first(labels, None).tolist() == list(range(9))
    assert sorted(data.balanced_first(labels, 9).tolist()) == list(range(9))


def test_mnist_32x3_pads_without_resampling():
    plain = data.prepare_task("mnist", train_limit=4, test_limit=2)
    padded = data.prepare_task("mnist_32x3", train_limit=4, test_limit=2)
    assert padded.x_train.shape == (4, 32, 32, 3) and padded.x_test.shape == (2, 32, 32, 3)
    assert np.array_equal(padded.x_train[:, 2:30, 2:30, 1], plain.x_train[..., 0])
    assert padded.x_train[:, :2].max() == 0 and padded.x_train[:, :, 30:].max() == 0
    assert np.array_equal(padded.y_train, plain.y_train)


def test_cifar10_subset_is_class_balanced():
    task = data.prepare_task("cifar10", train_limit=200, test_limit=50)
    assert task.x_train.shape == (200, 32, 32, 3) and task.x_train.max() <= 1.0
    assert np.bincount(task.y_train.argmax(1), minlength=10).tolist() == [20] * 10
    assert np.bincount(task.labels_test, minlength=10).tolist() == [5] * 10
    assert task.class_names[:2] == ["airplane", "automobile"]


def test_a_limited_test_set_can_be_a_fixed_stratified_sample():
    full = data.load_mnist().y_test
    task = data.prepare_task("mnist", train_limit=10, test_limit=1000, test_subset="stratified")
    again = data.prepare_task("mnist", train_limit=10, test_limit=1000, test_subset="stratified")
    counts = np.bincount(task.labels_test, minlength=10)
    assert counts.sum() == 1000
    assert np.abs(counts - np.bincount(full) / 10).max() < 1       # every digit in its share
    assert np.array_equal(task.x_test, again.x_test)                # the same sample every time
    first = data.prepare_task("mnist", train_limit=10, test_limit=1000)
    assert not np.array_equal(first.labels_test, task.labels_test)
    picked = data.stratified_sample(full, 1000)
    assert len(np.unique(picked)) == 1000 and picked.max() > 1000   # drawn from all 10,000
    cifar = data.prepare_task("cifar10", train_limit=10, test_limit=100, test_subset="stratified")
    assert np.bincount(cifar.labels_test).tolist() == [10] * 10
    with pytest.raises(ValueError, match=r"test_subset='last' is not allowed; allowed: \['first', "):
        data.prepare_task("mnist", test_limit=10, test_subset="last")


def test_a_validation_split_of_a_class_grouped_set_is_refused():
    data.check_validation_split(data.load_mnist().y_train, 0.1)      # MNIST is mixed
    data.check_validation_split(data.load_mnist().y_train[:300], 0.1)  # 30 held out: uneven
    with pytest.raises(ValueError, match=r"validation_split=0.1 holds out the last 5000 .*"
                                         r"per class: \[0, 0, 0, 0, 0, 0, 0, 0, 0, 5000\]"):
        data.check_validation_split(data.load_cifar10().y_train, 0.1)  # the last 10%: trucks


def test_fit_size_rounds_down_as_keras_does():
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    from cnnrepro.config import fit_size
    for n, split in ((101, 0.15), (4000, 0.1), (7, 0.5), (60000, 0.1)):
        kept, _ = train_validation_split((np.zeros(n),), validation_split=split)
        assert fit_size(n, split) == len(kept[0]), (n, split)

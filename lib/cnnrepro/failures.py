"""What the Reliability appendix tries against the project (bad parameters, missing
or corrupt data, killed and diverging runs, repeated seeds) and what happens: the
cheap cases are run again while the page executes, so the messages shown are the
ones the code gives."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from . import data, protocol


def message(call) -> str:
    """The error a call raises, as the user reads it."""
    try:
        call()
    except (protocol.ProtocolError, data.DataError) as exc:
        return f"{type(exc).__name__}: {exc}"
    raise AssertionError("the call did not fail")


@contextmanager
def environment(**values):
    """Set (a value) or unset (None) environment variables for a block."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


BAD_PARAMETERS = [
    ("unknown profile", "vgg_resnet", {"profile": "fastest"}),
    ("unknown model", "vgg_resnet", {"models": ["alexnet"]}),
    ("negative epochs", "vgg_resnet", {"mnist_epochs": -1}),
    ("batch size 0", "vgg_resnet", {"batch_size": 0}),
    ("a string where a number belongs", "cnn_sweeps", {"best_epochs": "ten"}),
    ("a fraction where an integer belongs", "residual_depth", {"epochs": 2.5}),
]


def tried_cases() -> pd.DataFrame:
    """One row per case: what was tried, what happened (the message, where the call
    failed) and the tests that check it; the data cases run against a temporary folder."""
    rows = [{"case": f"chapter parameters: {case}", "tried": f"{chapter} with {params}",
             "what happens": message(lambda: protocol.resolve(chapter, **params)),
             "test": "test_bad_chapter_parameters_stop_before_any_training; "
                     "test_cli_names_the_bad_value_and_exits_2_before_a_kernel_starts"}
            for case, chapter, params in BAD_PARAMETERS]

    with tempfile.TemporaryDirectory() as tmp:
        offline = {var: "http://127.0.0.1:9" for var in ("HTTPS_PROXY", "https_proxy")}
        with environment(**{data.DATA_DIR_VAR: None, "KERAS_HOME": tmp, **offline}):
            rows.append({"case": "data missing, no network",
                         "tried": f"no {data.DATA_DIR_VAR}, no cached download, no network",
                         "what happens": message(data.load_mnist),
                         "test": "test_data_missing_without_network_is_a_clear_error_and_writes_nothing"})
        with environment(**{data.DATA_DIR_VAR: tmp}):
            rows.append({"case": "data file missing from the mirror",
                         "tried": f"{data.DATA_DIR_VAR} names an empty folder",
                         "what happens": message(data.load_cifar10),
                         "test": "test_data.py::test_missing_file_names_variable_file_and_checksum"})
        source = Path(os.environ.get(data.DATA_DIR_VAR, "")) / data.MNIST_FILE
        if source.is_file():
            (Path(tmp) / data.MNIST_FILE).write_bytes(source.read_bytes()[:-100])
            with environment(**{data.DATA_DIR_VAR: tmp}):
                rows.append({"case": "corrupt data file",
                             "tried": f"{data.MNIST_FILE} with its last 100 bytes cut off",
                             "what happens": message(data.load_mnist),
                             "test": "test_corrupt_data_file_is_a_clear_error_and_writes_nothing"})

    rows += [
        {"case": "a run killed with kill -9",
         "tried": "a training process killed while it writes the run's files",
         "what happens": "The store holds no entry for the run: its files were written under "
                         "results/.tmp/ and an entry appears only by one rename at the end. The "
                         "next run trains it again and stores it.",
         "test": "test_kill_9_while_writing_leaves_no_entry_and_the_next_run_trains; "
                 "test_store.py::test_interrupted_force_keeps_the_old_entry"},
        {"case": "a diverging run (NaN loss)",
         "tried": "SGD at learning rate 1e30 (tests) and 1e12 (chapter 4's smoke profile)",
         "what happens": "Training stops at the first non-finite loss; the run is stored with "
                         "NaN metrics and diverged_at_update; the chapter's tables name it "
                         "(\"diverged: NaN loss at update k\"), its curves end with a cross, and "
                         "the chapter completes.",
         "test": "test_a_diverging_run_is_stored_with_its_nan_and_named; "
                 "test_book.py::test_a_diverging_run_is_shown_and_its_chapter_completes"},
        {"case": "the same config and seed twice",
         "tried": "one run trained, then retrained with force",
         "what happens": "Identical metrics, per-update history and test probabilities "
                         "(TensorFlow's deterministic ops, seeded shuffling and initialisers).",
         "test": "test_same_config_and_seed_twice_give_identical_stored_metrics; "
                 "test_train.py::test_same_seed_same_numbers"},
    ]
    return pd.DataFrame(rows).set_index("case")

"""The Reliability appendix's cases are run by the library while the page executes:
each message names the bad value, and the environment is restored afterwards."""
import os

from cnnrepro import data, failures
from conftest import needs_mirror


def test_environment_sets_and_unsets_for_a_block_and_restores():
    os.environ["CNNREPRO_TEST_A"] = "kept"
    os.environ.pop("CNNREPRO_TEST_B", None)
    with failures.environment(CNNREPRO_TEST_A=None, CNNREPRO_TEST_B="set"):
        assert "CNNREPRO_TEST_A" not in os.environ and os.environ["CNNREPRO_TEST_B"] == "set"
    assert os.environ["CNNREPRO_TEST_A"] == "kept" and "CNNREPRO_TEST_B" not in os.environ


@needs_mirror
def test_every_case_is_tried_and_each_bad_value_is_named_in_its_message():
    before = os.environ.get(data.DATA_DIR_VAR)
    cases = failures.tried_cases()
    assert os.environ.get(data.DATA_DIR_VAR) == before
    assert len(cases) == len(failures.BAD_PARAMETERS) + 3 + 3
    for case, _, params in failures.BAD_PARAMETERS:
        shown = cases.loc[f"chapter parameters: {case}", "what happens"]
        name, value = next(iter(params.items()))
        assert shown.startswith("ProtocolError") and f"{name}={value!r}" in shown
    assert cases.loc["corrupt data file", "what happens"].startswith("DataError")

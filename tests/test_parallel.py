"""Parallel training: workers pinned to their share of the cores compute exactly
what one process computes, and a bad job count is refused with the allowed range."""
import os

import numpy as np
import pytest

from cnnrepro import parallel
from cnnrepro.config import RunConfig
from cnnrepro.spec import ProtocolError
from conftest import needs_mirror


def test_cores_are_shared_out_evenly_and_a_bad_job_count_is_refused():
    assert parallel.core_shares(2, [0, 1, 2]) == [[0, 2], [1]]
    assert parallel.core_shares(1, [0, 1]) == [[0, 1]]
    with pytest.raises(ProtocolError, match=r"--jobs=3 is not allowed; allowed: 1 to 2"):
        parallel.core_shares(3, [0, 1])
    with pytest.raises(ProtocolError, match=r"--jobs=0 is not allowed"):
        parallel.core_shares(0, [0, 1])


@needs_mirror
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to share out")
def test_runs_trained_by_pinned_workers_equal_runs_trained_alone(tmp_store):
    from cnnrepro.train import train
    configs = [RunConfig(task="mnist", model="resnet_shallow", epochs=1, batch_size=32, seed=s,
                         train_limit=256, test_limit=64) for s in (0, 1)]
    lines = []
    parallel.train_all(configs, tmp_store.root, jobs=2, log=lines.append)
    assert len(lines) == 2 and all("trained in" in line for line in lines)
    for config in configs:
        alone = train(config, verbose=0)
        stored = tmp_store.load(config)
        np.testing.assert_array_equal(stored.test_probs, alone.test_probs.astype(np.float32))
        assert stored.updates["loss"].tolist() == pytest.approx(alone.updates["loss"].tolist(), rel=1e-5)

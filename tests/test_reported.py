"""The numbers transcribed from the reports match the reports' text."""

import re

import pytest

from cnnrepro import report
from cnnrepro.paths import repo_root

SEEDS = repo_root().parent / "shared" / "seeds"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="no ../shared/seeds beside the checkout")
def test_qmul_epoch_logs_are_transcribed_exactly():
    text = next(SEEDS.glob("002_*.txt")).read_text()
    printed = re.findall(r"epoch (\d+) -----\nFinish Training \d+ epoch, Loss: ([\d.]+), "
                         r"Acc.: ([\d.]+)\nTest Loss: ([\d.]+), Top1_Acc: ([\d.]+) , "
                         r"Top5_Acc: ([\d.]+)", text)
    printed = sorted([int(e), *map(float, rest)] for e, *rest in printed)
    logs = report.reported("vgg_resnet")["logs"]
    ours = sorted(row for dataset in logs.values() for rows in dataset.values() for row in rows)
    assert len(printed) == 32 and ours == printed

import subprocess
import sys

import pytest

from cnnrepro import protocol
from cnnrepro.protocol import ProtocolError


def test_cpu_equals_paper_for_chapter_1():
    paper = protocol.resolve("residual_depth", "paper")
    cpu = protocol.resolve("residual_depth", "cpu")
    assert paper.values == cpu.values
    assert cpu.epochs == 1 and cpu.batch_sizes == [64, 128] and len(cpu.seeds) >= 3
    assert len(cpu.run_configs()) == 2 * 2 * len(cpu.seeds)


def test_overrides_replace_profile_values():
    p = protocol.resolve("residual_depth", "smoke", batch_sizes=[32], seeds=[5, 6])
    assert [c.batch_size for c in p.run_configs()] == [32] * 4
    assert {c.seed for c in p.run_configs()} == {5, 6}


def test_smoke_results_stay_out_of_the_committed_store():
    assert protocol.resolve("residual_depth", "smoke").store_root.name == "smoke-results"
    assert protocol.resolve("residual_depth", "cpu").store_root.name == "results"


@pytest.mark.parametrize("kwargs, fragments", [
    ({"profile": "fast"}, ["'fast'", "paper", "cpu", "smoke"]),
    ({"epochs": -1}, ["epochs=-1", "positive integer"]),
    ({"batch_sizes": [0]}, ["batch_sizes=[0]", ">= 1"]),
    ({"batch_sizes": [64, 64]}, ["distinct"]),
    ({"models": ["resnet_huge"]}, ["resnet_huge", "resnet_shallow", "resnet_deep"]),
    ({"force": "yes"}, ["force='yes'", "true or false"]),
    ({"train_images": 70000}, ["train_images=70000", "1..60000"]),
    ({"test_images": 32, "batch_sizes": [64]}, ["test_images >= 64", "test_images=32"]),
    ({"learning_rate": 0.1}, ["learning_rate", "allowed", "batch_sizes"]),
])
def test_bad_input_names_value_and_allowed_ones(kwargs, fragments):
    with pytest.raises(ProtocolError) as err:
        protocol.resolve("residual_depth", **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_unknown_chapter():
    with pytest.raises(ProtocolError, match="'chapter9'.*residual_depth"):
        protocol.resolve("chapter9")


def test_cli_rejects_bad_parameter_before_starting_a_kernel():
    out = subprocess.run([sys.executable, "-m", "cnnrepro", "run", "residual_depth",
                          "-p", "epochs", "0"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "epochs=0" in out.stderr and "positive integer" in out.stderr


def test_listing_and_validating_import_no_tensorflow_or_keras():
    """`cnnrepro list` and a parameter check answer at once: no Keras, no TensorFlow."""
    code = ("import sys\n"
            "from cnnrepro import __main__ as cli, protocol, run\n"
            "assert cli.main(['list']) == 0\n"
            "for name in run.chapters():\n"
            "    for profile in protocol.PROFILES:\n"
            "        protocol.resolve(name, profile).run_configs()\n"
            "assert cli.main(['run', 'residual_depth', '-p', 'epochs', '0']) == 2\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'papermill'})\n"
            "assert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "residual_depth" in out.stdout and "epochs=0" in out.stderr


@pytest.mark.parametrize("kwargs, fragments", [
    ({"momentum": 1.5}, ["momentum=1.5", "[0, 1)"]),
    ({"learning_rate": "fast"}, ["learning_rate='fast'", "number > 0"]),
    ({"datasets": ["svhn"]}, ["svhn", "mnist", "cifar10"]),
    ({"cifar10_train_images": 60000}, ["cifar10_train_images=60000", "1..50000"]),
    ({"batch_size": 0}, ["batch_size=0", "positive integer"]),
])
def test_chapter_3_refuses_bad_values_naming_the_allowed_ones(kwargs, fragments):
    with pytest.raises(ProtocolError) as err:
        protocol.resolve("vgg_resnet", **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_chapter_3_profiles_train_both_models_on_both_datasets():
    paper = protocol.resolve("vgg_resnet", "paper")
    configs = paper.run_configs()
    assert {(c.model, c.task, c.epochs) for c in configs} == {
        ("vgg16", "mnist_32x3", 5), ("resnet18", "mnist_32x3", 5),
        ("vgg16", "cifar10", 25), ("resnet18", "cifar10", 25)}
    assert all(c.train_limit is None and c.test_limit is None for c in configs)
    cpu = protocol.resolve("vgg_resnet", "cpu").run_configs()
    assert {c.train_limit for c in cpu} == {4000} and len(cpu) == 4


@pytest.mark.parametrize("kwargs, fragments", [
    ({"validation_split": 0}, ["validation_split=0", "(0, 1)"]),
    ({"losses": ["logits"]}, ["logits", "double softmax"]),
    ({"models": ["mlp"]}, ["mlp", "resnet50_block"]),
    ({"patience": -1}, ["patience=-1", "positive integer"]),
])
def test_chapter_5_refuses_bad_values_naming_the_allowed_ones(kwargs, fragments):
    with pytest.raises(ProtocolError) as err:
        protocol.resolve("dnn_convnet_resnet", **kwargs)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_chapter_5_paper_grid_is_three_models_four_rates_two_losses():
    configs = protocol.resolve("dnn_convnet_resnet", "paper").run_configs()
    # 3 models x 4 rates x 2 losses at seed 0, and seeds 1-2 of every model with the
    # loss as printed (3 x 4 x 2): every cell a claim reads has 3 seeds
    assert len(configs) == len({c.key() for c in configs}) == 24 + 24
    assert {c.learning_rate for c in configs} == {0.1, 0.01, 0.001, 0.0001}
    # "as printed" is what the report's call computed on TensorFlow: no loss key
    assert {c.extra.get("loss") for c in configs} == {None, "double_softmax"}
    assert all(c.optimizer == "adam" and c.train_limit is None for c in configs)


def test_chapter_5_seeds_per_setting():
    # the claims read the loss as printed: 3 DNN and ConvNet seeds need not buy 3
    # two-hour ResNets, nor a third seed of the counterfactual loss
    p = protocol.resolve("dnn_convnet_resnet", "paper", seeds=[0, 1, 2], resnet_seeds=[0, 1])
    seeds = {}
    for c in p.run_configs():
        seeds.setdefault((c.model, c.extra.get("loss")), set()).add(c.seed)
    assert seeds[("dnn", None)] == seeds[("convnet", None)] == {0, 1, 2}
    assert seeds[("resnet50_block", None)] == {0, 1}
    assert seeds[("dnn", "double_softmax")] == seeds[("resnet50_block", "double_softmax")] == {0}
    assert {c.seed for c in p.ablation_configs()} == {0, 1}  # the ResNet re-scored


def test_chapter_3_seeds_per_model():
    # a second ResNet18 seed (an hour) need not buy a second VGG16 (13 hours on CIFAR-10)
    p = protocol.resolve("vgg_resnet", "paper", seeds=[0], resnet_seeds=[0, 1])
    seeds = {}
    for c in p.run_configs():
        seeds.setdefault(c.model, set()).add(c.seed)
    assert seeds == {"vgg16": {0}, "resnet18": {0, 1}}


def test_train_command_refuses_appendix_and_bad_values_before_training():
    from cnnrepro import run
    with pytest.raises(ProtocolError, match="'performance' is not a chapter"):
        run.train_chapter("performance")
    with pytest.raises(ProtocolError, match="mnist_epochs=-1"):
        run.train_chapter("vgg_resnet", {"mnist_epochs": -1})


def test_book_shows_paper_only_where_the_store_holds_every_paper_run(tmp_path, monkeypatch):
    from cnnrepro import run
    from cnnrepro.store import ResultsStore
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path))
    store = ResultsStore(tmp_path)
    configs = protocol.resolve("vgg_resnet", "paper").run_configs()
    for config in configs[:-1]:
        store.path(config).mkdir(parents=True)
        (store.path(config) / "config.json").write_text("{}")
    assert run.book_profile("vgg_resnet") == "cpu"
    store.path(configs[-1]).mkdir(parents=True)
    (store.path(configs[-1]) / "config.json").write_text("{}")
    assert run.book_profile("vgg_resnet") == "paper"
    assert run.book_profile("vgg_resnet", "smoke") == "smoke"


def test_the_book_shows_at_the_protocol_only_the_ablations_stored_so_far(tmp_path, monkeypatch):
    """A page only reads: the build gives it the variants whose runs are stored rather
    than have it train hours of them."""
    from cnnrepro import run
    from cnnrepro.store import ResultsStore
    monkeypatch.setenv(protocol.STORE_VAR, str(tmp_path))
    store = ResultsStore(tmp_path)
    paper = protocol.resolve("vgg_resnet", "paper")
    for config in [*paper.run_configs(), *paper.ablation_configs()]:
        if paper.chapter.ablation_of(paper, config) != "flatten_head":
            store.path(config).mkdir(parents=True)
            (store.path(config) / "config.json").write_text("{}")
    assert run.default_params("vgg_resnet") == {"profile": "paper", "ablations": ["crop_flip"]}
    for config in paper.ablation_configs():
        store.path(config).mkdir(parents=True, exist_ok=True)
        (store.path(config) / "config.json").write_text("{}")
    assert run.default_params("vgg_resnet") == {"profile": "paper"}

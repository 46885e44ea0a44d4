import json

import numpy as np
import pytest

from cnnrepro import flops
from cnnrepro.models import (build_model, concat_residual, resnet, shapes_only,
                             trainable_parameters, vgg)


def counts(model):
    return model.count_params(), trainable_parameters(model)


@pytest.mark.parametrize("name, total, trainable", [
    ("resnet_shallow", 98060, 97928),   # Report 2, Table 1
    ("resnet_deep", 93740, 93032),
])
def test_parameter_counts_match_report_table_1(name, total, trainable):
    model = build_model(name, (28, 28, 1), 10)
    assert counts(model) == (total, trainable)
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("name, blocks, linear", [
    ("resnet_shallow", 3138, 94922),    # Report 2, Table 2
    ("resnet_deep", 62562, 31178),
])
def test_parameter_split_matches_report_table_2(name, blocks, linear):
    model = build_model(name, (28, 28, 1), 10)
    in_blocks = sum(line.count_params() for line in model.layers if line.name.startswith("block"))
    in_dense = sum(line.count_params() for line in model.layers if line.name in ("dense", "output"))
    assert (in_blocks, in_dense) == (blocks, linear)


def test_block_concatenates_input_with_three_conv_bn():
    block = concat_residual.residual_block_model((32, 32, 1), filters=6)
    assert block.output_shape == (None, 32, 32, 7)
    kinds = [type(line).__name__ for line in block.layers]
    assert kinds.count("Conv2D") == 3 and kinds.count("BatchNormalization") == 3
    assert kinds[-1] == "Concatenate"


def test_unknown_model_names_allowed_ones():
    with pytest.raises(ValueError, match=r"'vgg99'.*allowed: \["):
        build_model("vgg99", (28, 28, 1), 10)


@pytest.mark.parametrize("model, head, head_params", [
    ("digit_classifier", "classifier_10", 99018),    # Report 3, Table 1
    ("pair_classifier", "classifier_2", 401762),
])
def test_report_3_modules_match_table_1(model, head, head_params):
    m = build_model(model, (28, 28, 2), 10 if head == "classifier_10" else 2)
    extractor = m.get_layer("feature_extraction")
    assert extractor.output_shape == (None, 1536) and extractor.count_params() == 3226
    assert m.get_layer(head).count_params() == head_params
    assert [line.name for line in m.layers[1:]] == ["feature_extraction", head]


@pytest.mark.parametrize("config, params", [
    ("A", 132_863_336), ("A-LRN", 132_863_336), ("B", 133_047_848),
    ("C", 133_638_952), ("D", 138_357_544), ("E", 143_667_240)])  # VGG paper, Table 2
def test_vgg_configurations_have_the_papers_parameter_counts(config, params):
    assert vgg.vgg(config).count_params() == params


@pytest.mark.parametrize("depth, trainable, gmacs", [
    (18, 11_689_512, 1.81), (34, 21_797_672, 3.66), (50, 25_557_032, 4.09),
    (101, 44_549_160, 7.80), (152, 60_192_808, 11.51)])   # torchvision's counts
def test_resnet_depths_match_torchvision(depth, trainable, gmacs):
    model = resnet.resnet(depth)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable
    assert flops.model_macs(model) / 1e9 == pytest.approx(gmacs, abs=0.005)


def test_simple_cnn_flattens_100x7x7_and_the_registry_builds_the_bench_models():
    model = build_model("simple_cnn", (28, 28, 1), 10)
    assert model.get_layer("flatten").output.shape[-1] == 4900
    for name in ("vgg16", "resnet18", "resnet18_small_stem"):
        m = build_model(name, (32, 32, 3), 10)
        assert m.output_shape == (None, 10)


def test_local_response_norm_matches_a_direct_computation():
    x = np.random.default_rng(0).normal(size=(1, 2, 2, 7)).astype("float32")
    out = np.asarray(vgg.LocalResponseNorm()(x))
    sq = np.pad(x ** 2, [(0, 0), (0, 0), (0, 0), (2, 2)])
    window = sum(sq[..., i:i + 7] for i in range(5))
    assert np.allclose(out, x / (2 + 1e-4 / 5 * window) ** 0.75, rtol=1e-5)


def test_vgg_stage_layers_follow_the_papers_table():
    assert vgg.stage_layers("D") == [["conv3-64"] * 2, ["conv3-128"] * 2, ["conv3-256"] * 3,
                                     ["conv3-512"] * 3, ["conv3-512"] * 3]
    assert vgg.stage_layers("C")[2] == ["conv3-256", "conv3-256", "conv1-256"]
    assert vgg.stage_layers("A-LRN")[0] == ["conv3-64", "LRN"]
    for config, stages in ((c, vgg.stage_layers(c)) for c in vgg.CONFIGS):
        convs = sum(1 for s in stages for layer in s if layer.startswith("conv"))
        assert convs + 3 == vgg.WEIGHT_LAYERS[config]


def test_torchvision_initialisation_of_vgg_and_resnet():
    import keras
    keras.utils.set_random_seed(0)
    m = vgg.vgg("A", (32, 32, 3), 10, fc_units=(64, 64), init="torchvision")
    conv = m.get_layer("conv1_1").kernel.numpy()     # He normal, fan-out = 9 * 64
    assert conv.std() == pytest.approx(np.sqrt(2 / (9 * 64)), rel=0.1)
    assert m.get_layer("fc1").kernel.numpy().std() == pytest.approx(0.01, rel=0.1)
    with pytest.raises(ValueError, match="'xavier'.*keras.*torchvision"):
        vgg.vgg("A", init="xavier")
    with pytest.raises(ValueError, match="'global'.*flatten.*torchvision"):
        vgg.vgg("A", head="global")
    net = resnet.resnet(18, (32, 32, 3), 10)
    assert net.get_layer("conv1_bn").momentum == 0.9   # PyTorch's momentum 0.1
    out = net.get_layer("output")       # PyTorch's Linear: kernel and bias in +-1/sqrt(512)
    for w in (out.kernel.numpy(), out.bias.numpy()):
        assert np.abs(w).max() <= 1 / np.sqrt(512) and np.abs(w).max() > 0.8 / np.sqrt(512)


KERNEL_MODELS = [("vgg16", (32, 32, 3), {}), ("resnet18", (32, 32, 3), {}),
                 ("resnet", (28, 28, 1), {"depth": 34})]


def kernels(name, shape, options, seed):
    import keras
    keras.utils.set_random_seed(seed)
    model = build_model(name, shape, 10, **options)
    return {w.path: w.numpy() for w in model.weights if w.path.endswith("kernel")}


@pytest.mark.parametrize("name, shape, options", KERNEL_MODELS)
def test_no_two_kernels_of_a_model_start_alike(name, shape, options):
    """One initialiser per layer: no kernel repeats another, whole or as a slice."""
    starts = {path: k.ravel()[:256].tobytes() for path, k in kernels(name, shape, options, 0).items()}
    repeated = len(starts) - len(set(starts.values()))
    assert repeated == 0, f"{repeated} of {len(starts)} kernels of {name} start like another"


@pytest.mark.parametrize("name, shape, options", KERNEL_MODELS[:2])
def test_seeds_give_different_kernels(name, shape, options):
    a, b = kernels(name, shape, options, 0), kernels(name, shape, options, 1)
    same = [p for p in a if np.array_equal(a[p], b[p])]
    assert not same, f"seeds 0 and 1 give {name} the same kernels {same[:3]}"


FIRST_KERNELS = """
import hashlib, sys, keras
{before}
from cnnrepro.models import build_model
keras.utils.set_random_seed(0)
m = build_model("{name}", {shape}, 10)
print(hashlib.sha256(b"".join(w.numpy().tobytes() for w in m.weights)).hexdigest())
"""


@pytest.mark.parametrize("name, shape", [("vgg16", (32, 32, 3)), ("resnet18", (32, 32, 3))])
def test_a_seed_gives_the_same_kernels_whatever_the_process_did_before(name, shape):
    """In fresh processes: the model built first, or after importing every builder
    and building another model (a chapter page, a worker that trained before)."""
    import subprocess
    import sys
    before = ("import cnnrepro.models.vgg, cnnrepro.models.resnet, cnnrepro.models.simple_cnn\n"
              "from cnnrepro.models import build_model as b\n"
              "b('simple_cnn', (28, 28, 1), 10)")
    digests = [subprocess.run([sys.executable, "-c", FIRST_KERNELS.format(
                   before=b, name=name, shape=shape)], capture_output=True, text=True,
                   check=True).stdout.split()[-1] for b in ("", before)]
    assert digests[0] == digests[1]


def torchvision_layers(model: str) -> dict[str, int]:
    from pathlib import Path
    path = Path(__file__).parent / "reference" / "torchvision_layers.json"
    return {name: n for name, _, n in json.loads(path.read_text())["models"][model]["layers"]}


def trainable_per_layer(model) -> list[tuple[str, int]]:
    return [(layer.name, sum(int(np.prod(w.shape)) for w in layer.trainable_weights))
            for layer in model.layers if layer.trainable_weights]


@pytest.mark.parametrize("reference, name, shape, options", [
    ("resnet18", "resnet18", (32, 32, 3), {}),
    *[(f"resnet{d}_1ch", "resnet", (28, 28, 1), {"depth": d}) for d in (18, 34, 50, 101)]])
def test_resnets_have_torchvisions_parameters_layer_by_layer(reference, name, shape, options):
    with shapes_only():
        model = build_model(name, shape, 10, **options)
    ours = {resnet.torchvision_name(layer): n for layer, n in trainable_per_layer(model)}
    assert ours == torchvision_layers(reference)


def test_vgg16_has_torchvisions_parameters_layer_by_layer():
    with shapes_only():
        ours = [n for _, n in trainable_per_layer(build_model("vgg16", (32, 32, 3), 10))]
        direct = build_model("vgg16", (32, 32, 3), 10, head="flatten")
    assert ours == list(torchvision_layers("vgg16").values())
    assert sum(ours) == 134_301_514
    assert direct.get_layer("fc1").count_params() == 512 * 4096 + 4096   # the 1x1x512 map


def test_strided_resnet_convolutions_pad_as_torchvision():
    """Symmetric padding: the stem (7x7/2 convolution, 3x3/2 max pool) of ResNet18
    computes what torch computes with the same kernel."""
    torch = pytest.importorskip("torch")
    import keras
    keras.utils.set_random_seed(0)
    net = build_model("resnet18", (32, 32, 3), 10)
    stem = keras.Model(net.input, net.get_layer("conv1_conv").output)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    conv = torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(net.get_layer("conv1_conv").kernel.numpy().transpose(3, 2, 0, 1)))
        theirs = conv(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(np.asarray(stem(x)), theirs, atol=1e-4)
    pooled = keras.Model(net.input, net.get_layer("conv1_pool").output)(x)
    relu = np.asarray(keras.Model(net.input, net.get_layer("conv1_relu").output)(x))
    expect = torch.nn.functional.max_pool2d(torch.from_numpy(relu.transpose(0, 3, 1, 2).copy()), 3, 2, 1)
    np.testing.assert_allclose(np.asarray(pooled), expect.numpy().transpose(0, 2, 3, 1))


def test_simple_cnn_dropout_sits_between_the_fully_connected_layers():
    m = build_model("simple_cnn", (28, 28, 1), 10, fc_units=[500], dropout=0.5)
    names = [line.name for line in m.layers]
    assert names[-3:] == ["fc1", "dropout1", "output"]
    assert m.get_layer("conv2").output.shape[1:] == (14, 14, 100)
    assert m.get_layer("flatten").output.shape[1] == 4900   # the report's 100 x 7 x 7


@pytest.mark.parametrize("depth, blocks", [(18, "basic"), (50, "bottleneck")])
def test_any_resnet_depth_by_options_on_mnist(depth, blocks):
    m = build_model("resnet", (28, 28, 1), 10, depth=depth)
    assert m.output_shape == (None, 10) and m.name == f"resnet{depth}"
    assert any(line.name.endswith("_3_conv") for line in m.layers) == (blocks == "bottleneck")


def test_uc_dnn_applies_its_dense_layers_to_pixel_rows_before_flatten():
    m = build_model("dnn", (28, 28, 1), 10)
    assert m.get_layer("dense1").output.shape[1:] == (28, 128)
    assert m.get_layer("flatten").output.shape[1] == 28 * 64


def test_uc_convnet_is_the_tensorflow_tutorial_network():
    m = build_model("convnet", (28, 28, 1), 10)
    assert m.get_layer("conv3").output.shape[1:] == (3, 3, 64)
    assert m.count_params() == 93322


def test_uc_resnet_has_two_convolution_and_two_identity_blocks():
    m = build_model("resnet50_block", (28, 28, 1), 10)
    assert m.get_layer("stem_pool").output.shape[1:] == (12, 12, 64)
    assert m.get_layer("id_block1_out").output.shape[1:] == (12, 12, 256)
    assert m.get_layer("id_block2_out").output.shape[1:] == (6, 6, 256)
    shortcuts = [line.name for line in m.layers if line.name.endswith("_shortcut_conv")]
    assert shortcuts == ["conv_block1_shortcut_conv", "conv_block2_shortcut_conv"]


def test_crop_flip_moves_and_mirrors_training_images_only():
    import keras
    from cnnrepro.models.augment import PadCropFlip, augmented
    x = np.arange(2 * 6 * 6, dtype="float32").reshape(2, 6, 6, 1) + 1
    layer = PadCropFlip(pad=2, seed=3)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    seen = [np.asarray(layer(x, training=True)) for _ in range(20)]
    assert all(s.shape == x.shape for s in seen)
    assert any(not np.array_equal(s, x) for s in seen)
    for s in seen:  # every output is a shifted (maybe mirrored) window of a padded image
        for i in range(2):
            padded = np.pad(x[i, :, :, 0], 2)
            windows = [w for dy in range(5) for dx in range(5)
                       for w in (padded[dy:dy + 6, dx:dx + 6], padded[dy:dy + 6, dx:dx + 6][:, ::-1])]
            assert any(np.array_equal(s[i, :, :, 0], w) for w in windows)
    inputs = keras.Input((6, 6, 1))
    base = keras.Model(inputs, keras.layers.Flatten()(inputs))
    with pytest.raises(ValueError, match=r"unknown augmentation 'mixup'; allowed: \['crop_flip'\]"):
        augmented(base, "mixup", 0)


def test_adaptive_average_pool_computes_torchvisions_and_vgg16_trains_with_it():
    """1x1 -> 7x7 (VGG16 at 32x32) included, which Keras's own layer cannot do on
    TensorFlow; the torch comparison runs where torch is installed."""
    x = np.random.default_rng(0).normal(size=(2, 10, 11, 3)).astype("float32")
    one = np.asarray(vgg.AdaptiveAveragePool(7)(x[:, :1, :1]))
    assert one.shape == (2, 7, 7, 3) and np.allclose(one, x[:, :1, :1])
    model = build_model("vgg16", (32, 32, 3), 10)
    model.compile("sgd", "categorical_crossentropy")
    model.fit(np.zeros((4, 32, 32, 3), "float32"), np.eye(10)[:4], batch_size=2, verbose=0)
    torch = pytest.importorskip("torch")
    theirs = torch.nn.AdaptiveAvgPool2d(7)(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(np.asarray(vgg.AdaptiveAveragePool(7)(x)),
                               theirs.numpy().transpose(0, 2, 3, 1), atol=1e-6)

import numpy as np
import pytest

from cnnrepro.models import build_model, concat_residual


def counts(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return model.count_params(), trainable


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
    in_blocks = sum(l.count_params() for l in model.layers if l.name.startswith("block"))
    in_dense = sum(l.count_params() for l in model.layers if l.name in ("dense", "output"))
    assert (in_blocks, in_dense) == (blocks, linear)


def test_block_concatenates_input_with_three_conv_bn():
    block = concat_residual.residual_block_model((32, 32, 1), filters=6)
    assert block.output_shape == (None, 32, 32, 7)
    kinds = [type(l).__name__ for l in block.layers]
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
    assert [l.name for l in m.layers[1:]] == ["feature_extraction", head]

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

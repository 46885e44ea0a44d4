"""Report 3 (HUST): a feature extractor shared by two classification heads.

Phase 1 trains ``feature_extraction`` + ``classifier_10`` on single digits (the
image duplicated into both channels); phase 2 puts ``classifier_2`` on the same
extractor to tell whether the two channels hold the same digit. Each part is a
nested Keras model named as in the report's Appendix A, so the extractor's
weights move between the phases by name.
"""

import keras

from .concat_residual import concat_features, dense_head
from .names import EXTRACTOR

FEATURES = 1536  # 8 x 8 x 24 after two blocks (6 and 16 filters) and two pools


def feature_extraction(input_shape=(28, 28, 2)):
    """Zero-pad to 32x32, blocks of 6 and 16 filters with max pooling, flatten to 1536."""
    inputs = keras.Input(input_shape, name="pair")
    return keras.Model(inputs, concat_features(inputs, (6, 16)), name=EXTRACTOR)


def classifier_10(input_dim=FEATURES, classes=10):
    """Dense 64 ReLU, Dense 10 softmax (the report's '10_head_classifier')."""
    inputs = keras.Input((input_dim,), name="features")
    return keras.Model(inputs, dense_head(inputs, (64,), classes), name="classifier_10")


def classifier_2(input_dim=FEATURES, classes=2):
    """Dense 256, Dense 32 (ReLU), Dense 2 softmax (the report's '2_head_classifier')."""
    inputs = keras.Input((input_dim,), name="features")
    return keras.Model(inputs, dense_head(inputs, (256, 32), classes), name="classifier_2")


def _phase_model(head, input_shape, name):
    inputs = keras.Input(input_shape, name="pair")
    extractor = feature_extraction(input_shape)
    return keras.Model(inputs, head(extractor(inputs)), name=name)


def digit_classifier(input_shape=(28, 28, 2), classes=10):
    """Phase 1: extractor + 10-class head (the report's ``model_10``)."""
    return _phase_model(classifier_10(FEATURES, classes), input_shape, "model_10")


def pair_classifier(input_shape=(28, 28, 2), classes=2):
    """Phase 2: extractor + 2-class head (the report's ``model_2``)."""
    return _phase_model(classifier_2(FEATURES, classes), input_shape, "model_2")

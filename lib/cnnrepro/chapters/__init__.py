"""One module per chapter, each with its ChapterSpec (``SPEC``) and the functions
its page calls; ``SPECS`` holds them by name in book order."""

from . import cnn_sweeps, digit_pairs, dnn_convnet_resnet, residual_depth, vgg_resnet

SPECS = {m.SPEC.name: m.SPEC for m in (residual_depth, digit_pairs, vgg_resnet, cnn_sweeps,
                                       dnn_convnet_resnet)}

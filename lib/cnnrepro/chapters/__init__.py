"""One module per chapter, each registering its ChapterSpec; import order is book order."""

from . import residual_depth  # noqa: F401
from . import digit_pairs  # noqa: F401
from . import vgg_resnet  # noqa: F401
from . import cnn_sweeps  # noqa: F401
from . import dnn_convnet_resnet  # noqa: F401

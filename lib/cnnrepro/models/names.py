"""Names the model builders share with code that must not import Keras (a chapter's
parameter checks and run configs are validated before any Keras import)."""

# ResNet depth -> block kind and blocks per stage (He et al., 2016, Table 1).
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
          50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
          152: ("bottleneck", (3, 8, 36, 3))}

# The pair task's shared feature extractor: the layer phase 2 takes from phase 1.
EXTRACTOR = "feature_extraction"

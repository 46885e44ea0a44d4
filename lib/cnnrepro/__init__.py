"""cnnrepro: the shared code of a reproducible book of five CNN reports.

Modules: data (datasets and tasks), models (one module per report's family),
train (Keras fit with per-update history), metrics (scikit-learn), store (the
results store), protocol (profiles, chapter parameters), plots (seaborn
figures), report (tables and publishing helpers for chapters), run (papermill).
"""

import os

# TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX512_VNNI
# or newer; elsewhere (AVX2-only processors such as AMD Zen 3) it falls back to
# Eigen kernels that train the book's CNNs 1.4-2.8x slower (see the Performance
# appendix). Turned on here, before TensorFlow is imported, unless the user chose;
# the runs' provenance records the setting.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

"""cnnrepro: the shared code of a reproducible book of five CNN reports.

Modules: data (datasets and tasks), models (one module per report's family),
train (Keras fit with per-update history), metrics (scikit-learn), store (the
results store), protocol (profiles, chapter parameters), plots (seaborn
figures), report (tables and publishing helpers for chapters), run (papermill).
"""

__version__ = "0.1.0"

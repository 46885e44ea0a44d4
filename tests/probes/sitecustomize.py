"""Records, in a page's kernel, every call of a Keras model on data (``__call__`` on
arrays, ``predict``, ``fit``, ...) and who made it: training a run
(``cnnrepro/train.py`` on the stack), computing an analysis (``cnnrepro/analyses.py``)
or the page itself. A page only reads, so the book tests require no call by a page.

Active where CNNREPRO_CALL_LOG names a file: the book tests put this folder on
PYTHONPATH, so every process of the build (the pages' kernels included) imports it;
Keras is patched once it has been imported, a line per outermost call."""
import importlib.abc
import importlib.util
import json
import os
import sys
import threading
import traceback

LOG = os.environ.get("CNNREPRO_CALL_LOG")
MAKERS = {"training": "cnnrepro/train.py", "analysis": "cnnrepro/analyses.py"}
METHODS = ("__call__", "predict", "predict_on_batch", "fit", "evaluate", "train_on_batch",
           "test_on_batch")
_inside = threading.local()


def _maker() -> str:
    files = [frame.filename.replace(os.sep, "/") for frame in traceback.extract_stack()]
    for maker, suffix in MAKERS.items():
        if any(f.endswith(suffix) for f in files):
            return maker
    return "page"


def _page() -> str:
    reads = os.environ.get("CNNREPRO_READ_LOG", "")  # <page>-reads-*.jsonl while a page executes
    return os.path.basename(reads).split("-reads-")[0] if reads else ""


def _wrap(method, name):
    def counted(self, *args, **kwargs):
        import keras
        if getattr(_inside, "depth", 0) or (name == "__call__" and any(
                isinstance(a, keras.KerasTensor) for a in keras.tree.flatten((args, kwargs)))):
            return method(self, *args, **kwargs)  # inside a counted call, or building a graph
        with open(LOG, "a") as f:
            f.write(json.dumps({"call": name, "model": self.name, "page": _page(),
                                "by": _maker()}) + "\n")
        _inside.depth = 1
        try:
            return method(self, *args, **kwargs)
        finally:
            _inside.depth = 0
    return counted


def _patch(keras) -> None:
    for name in METHODS:
        setattr(keras.Model, name, _wrap(getattr(keras.Model, name), name))


class _AfterKeras(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)
        spec.loader.exec_module = exec_module
        return spec


if LOG:
    sys.meta_path.insert(0, _AfterKeras())

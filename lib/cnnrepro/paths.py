"""Where the project's folders are, for code run from anywhere inside the repo."""

import os
from pathlib import Path

ROOT_VAR = "CNNREPRO_ROOT"


def repo_root() -> Path:
    """``CNNREPRO_ROOT``, else the nearest parent of the working directory holding
    ``book/_config.yml``, else the checkout this package was installed from."""
    if os.environ.get(ROOT_VAR):
        return Path(os.environ[ROOT_VAR]).resolve()
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "book" / "_config.yml").is_file():
            return folder
    return Path(__file__).resolve().parents[2]


def book_dir() -> Path:
    return repo_root() / "book"

# The two commands a new machine needs: `make book` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PROFILE ?= cpu
NAME   ?=
PARAMS ?=

# The local dataset mirror, when the checkout sits beside ../shared (CI, the
# project's machines); otherwise the Keras downloaders are used.
ifneq ($(wildcard ../shared/data/mnist.npz),)
export REPRO_DATA_DIR ?= $(abspath ../shared/data)
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2
# oneDNN kernels for TensorFlow on every x86 CPU (it enables them itself only on
# AVX512_VNNI and newer); the package sets the same default.
export TF_ENABLE_ONEDNN_OPTS ?= 1

.PHONY: install browser book chapter build check-book test test-fast verify bench clean

# Re-install only when the requirements or the package metadata change.
$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed

# Headless Chromium for the browser test (Debian's package; apt needs root or sudo).
browser:
	@command -v chromium >/dev/null || { SUDO=$$(command -v sudo || true); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } \
		|| echo "could not install chromium: the browser test will be skipped (failed on CI)"

## make book: `jupyter-book build book/` after the install: every stale page executed
## (PROFILE, default cpu; JOBS pages at once, default the cores), then the HTML
book: install
	CNNREPRO_PROFILE=$(PROFILE) $(if $(JOBS),CNNREPRO_JOBS=$(JOBS)) $(BIN)/jupyter-book build book/

## make chapter NAME=residual_depth PARAMS="-p batch_sizes '[32, 256]'"
chapter: install
	@test -n "$(NAME)" || (echo "usage: make chapter NAME=<chapter> PARAMS=\"-p name value ...\""; \
		$(BIN)/python -m cnnrepro list; exit 2)
	$(BIN)/python -m cnnrepro run $(NAME) $(PARAMS)

## make build: the same as make book
build: book

## make check-book: the browser test's checks (layout included) on the book as built
## by `make book` (book/_build/html); screenshots in book/_build/screens/
check-book: install browser
	BOOK_HTML=$(CURDIR)/book/_build/html $(BIN)/python -m pytest -q tests/test_browser.py

## make test: lint (ruff: pyflakes + pycodestyle), library tests, the end-to-end smoke
## build of the whole book, and that build opened in headless Chromium
test: install browser
	$(BIN)/ruff check lib tests book/chapters
	$(BIN)/python -m pytest -q

## make test-fast: library tests only
test-fast: install
	$(BIN)/python -m pytest -q -m "not book"

## make verify CHAPTERS="residual_depth digit_pairs" RUNS=3: retrain stored runs (the
## cheapest RUNS per chapter) and compare them with the store (README: "Do the stored
## runs come back?")
verify: install
	$(BIN)/python -m cnnrepro verify $(CHAPTERS) $(if $(RUNS),--runs $(RUNS))

# Training throughput of every model, TensorFlow and the PyTorch peer side by side
# (results/bench/, shown in the book's Performance appendix). Several minutes.
bench: install
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m cnnrepro bench $(BENCH_ARGS)

clean:
	rm -rf book/_build book/_generated book/chapters/*.ipynb .cache/smoke-results

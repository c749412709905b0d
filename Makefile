# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Cargo and maturin build pyo3 for the same interpreter, so neither invalidates the other's cache,
# and maturin installs into this checkout's .venv even when another environment is active.
export PYO3_PYTHON := $(BIN)/python
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
unexport CONDA_PREFIX

# Wheels are linked by zig against glibc 2.17, which makes them manylinux2014 (manylinux_2_17):
# linked by the system's gcc they would need this machine's glibc 2.36.
MANYLINUX := --zig --compatibility manylinux2014 --strip
# maturin finds zig as `python -m ziglang` with the python first on PATH: the .venv's.
ZIG_PATH := PATH="$(BIN):$$PATH"
# The test wheel: the debug profile every test ran on (overflow checks and debug assertions on),
# with the test hooks, without debug info (it would make the library ~350 MB). Zig links it, so
# cargo keeps it apart from the builds of `cargo test`; turning debug info off costs no sharing.
TEST_WHEEL_DIR := target/test-wheel
TEST_WHEEL_ENV := CARGO_PROFILE_DEV_DEBUG=false

.PHONY: demo test docs system-packages test-wheel wheel-test lint-workflow install-test-wheel test-rust test-python develop wheel wheel-aarch64 bench venv clean

$(BIN)/maturin:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "maturin>=1.9.4,<2"

venv: $(BIN)/maturin

# zig (the linker), auditwheel (the tag check) and the workflow's linters come from PyPI; only the
# wheel targets need them.
$(VENV)/.wheel-tools: $(BIN)/maturin
	$(BIN)/python -m pip install -q "ziglang~=0.17.1" "auditwheel>=6.1" "check-jsonschema>=0.29" "yamllint>=1.35"
	touch $@

## Build and install kpikit (release) into .venv, then run its main job on the demo company:
## the KPI report, written to demo-report.html.
demo: venv
	@echo "make demo: compiling kpikit (release; a few minutes on 2 cores, cargo prints each crate)"
	$(BIN)/maturin develop --release --extras plot
	$(BIN)/python -m kpikit report --demo -o demo-report.html

# Debian packages the tests use: a PostgreSQL server (database sources) and Chromium (the report
# rendered in a real browser). Installed once; a machine that has them skips this.
DEB_PACKAGES := postgresql chromium
system-packages:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

## Install the test dependencies and run every test: the wheel (built once, installed into .venv
## and into a fresh environment without Rust), Rust, Python (ruff, mypy --strict, stub check, tests and doctests), notebooks,
## and the documentation site (so it cannot rot).
test: system-packages install-test-wheel
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(MAKE) wheel-test test-rust test-python docs

# The site's tools: the `docs` extra of pyproject.toml (pinned there), without building kpikit:
# mkdocstrings reads the package's source and the extension's stub statically.
$(VENV)/.docs-tools: pyproject.toml | $(BIN)/maturin
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["docs"]))' > $(VENV)/docs-requirements.txt
	$(BIN)/python -m pip install -q -r $(VENV)/docs-requirements.txt
	touch $@

## The documentation site, offline, into target/site/ (open target/site/index.html): strict, so a
## broken link or cross-reference, a page missing from the nav or a docstring that does not
## render fails the build.
docs: $(VENV)/.docs-tools
	start=$$(date +%s) && NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean --site-dir $(CURDIR)/target/site \
	  && echo "documentation site built in $$(( $$(date +%s) - start )) s: target/site/index.html"

## The test wheel and the sdist, in target/test-wheel/.
test-wheel: $(VENV)/.wheel-tools
	rm -rf $(TEST_WHEEL_DIR)
	@echo "building the test wheel (debug profile, test hooks; cargo prints each crate)"
	start=$$(date +%s) && env $(ZIG_PATH) $(TEST_WHEEL_ENV) $(BIN)/maturin build $(MANYLINUX) --features test-hooks --out $(TEST_WHEEL_DIR) \
	  && echo "test wheel built in $$(( $$(date +%s) - start )) s"
	$(BIN)/maturin sdist --out $(TEST_WHEEL_DIR)

install-test-wheel: test-wheel
	$(BIN)/python -m pip install -q --force-reinstall --no-deps $(TEST_WHEEL_DIR)/kpikit-*.whl
	$(BIN)/python -m pip install -q "$$(ls $(TEST_WHEEL_DIR)/kpikit-*.whl)[test]"

## The wheel alone: its tag, its metadata, and a fresh environment without Rust that installs it
## from the file and runs the README's quick start, `kpikit report --demo` and `kpikit --version`.
## `make test` runs it on the wheel it built; run alone, it builds the wheel first if there is none.
wheel-test: $(VENV)/.wheel-tools
	@ls $(TEST_WHEEL_DIR)/kpikit-*.whl >/dev/null 2>&1 || $(MAKE) test-wheel
	$(BIN)/python tests/wheel/check_wheel.py $(TEST_WHEEL_DIR)
	$(MAKE) lint-workflow

# The release workflow against GitHub's workflow schema (vendored in check-jsonschema: no download).
lint-workflow: $(VENV)/.wheel-tools
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/yamllint -s -d "{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}" .github/workflows

test-rust:
	cargo fmt --all -- --check
	cargo test --no-default-features
	cargo clippy --all-targets --all-features -- -D warnings

# The Python tests run on the installed wheel: its doctests are collected from the installed
# package (--pyargs), which is the same source the wheel was built from.
test-python:
	$(BIN)/python -m ruff check python/kpikit tests/python benches
	$(BIN)/python -m mypy
	$(BIN)/python -m mypy.stubtest kpikit._kpikit
	$(BIN)/python -m pytest -q tests/python --pyargs kpikit

## For working on kpikit: an editable install (Python edits apply at once), debug build with the
## test hooks, and the test dependencies; then run single test files with .venv/bin/pytest.
develop: venv
	$(BIN)/maturin develop --extras test --features test-hooks

## Release artifacts into dist/: the abi3 manylinux2014 wheel (release profile) and the sdist.
wheel: $(VENV)/.wheel-tools
	start=$$(date +%s) && env $(ZIG_PATH) $(BIN)/maturin build --release $(MANYLINUX) --out dist \
	  && echo "release wheel built in $$(( $$(date +%s) - start )) s"
	$(BIN)/maturin sdist --out dist

## The Linux aarch64 wheel, cross-compiled by the same zig (rustup adds the target's standard
## library once), into dist/aarch64/ (so `pip install dist/kpikit-*.whl` stays one file); built,
## not run, here: the release workflow tests it.
wheel-aarch64: $(VENV)/.wheel-tools
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	env $(ZIG_PATH) $(BIN)/maturin build --release $(MANYLINUX) --target aarch64-unknown-linux-gnu --out dist/aarch64

## Benchmarks against pandas, polars and DuckDB (release build); writes benches/REPORT.md.
bench: venv
	$(BIN)/maturin develop --release --extras test
	$(BIN)/python -m pip install -q "duckdb>=1.1"
	$(BIN)/python benches/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) target dist

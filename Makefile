# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Cargo and maturin build pyo3 for the same interpreter, so neither invalidates the other's cache,
# and maturin installs into this checkout's .venv even when another environment is active.
export PYO3_PYTHON := $(BIN)/python
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
unexport CONDA_PREFIX

.PHONY: demo test test-rust test-python bench venv clean

$(BIN)/maturin:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "maturin>=1.9.4,<2"

venv: $(BIN)/maturin

## Build and install kpikit (release) into .venv, then run its main job on the demo company:
## the KPI report, written to demo-report.html.
demo: venv
	$(BIN)/maturin develop --release --extras plot --quiet
	$(BIN)/python -m kpikit report --demo -o demo-report.html

## Install the test dependencies and run every test: Rust, Python (with doctests and stub check), notebooks.
test: venv
	$(BIN)/maturin develop --extras test --features test-hooks --quiet
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(MAKE) test-rust test-python

test-rust:
	cargo fmt --all -- --check
	cargo test --no-default-features
	cargo clippy --all-targets --all-features -- -D warnings

test-python:
	$(BIN)/python -m mypy.stubtest kpikit._kpikit
	$(BIN)/python -m pytest -q

## Benchmarks against pandas, polars and DuckDB (release build); writes benches/REPORT.md.
bench: venv
	$(BIN)/maturin develop --release --extras test --quiet
	$(BIN)/python -m pip install -q "duckdb>=1.1"
	$(BIN)/python benches/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) target

# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test venv dashboard bench bench-quick calibrate golden lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

venv: $(STAMP)

## run: the headline analysis
run: $(STAMP)
	$(BIN)/nysjanse headline --out out/headline

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

dashboard: $(STAMP)
	$(BIN)/streamlit run dashboard/app.py --server.headless true --server.port $(PORT)

bench: $(STAMP)
	$(BIN)/python -m benchmarks --json benchmarks/results/latest.json

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick --json benchmarks/results/quick.json

calibrate: $(STAMP)
	$(BIN)/nysjanse calibrate --targets calibration/targets/ny_sjanse_2006.toml --targets calibration/targets/ny_sjanse_later.toml --out calibration/fitted/ny_sjanse_2006

golden: $(STAMP)
	$(BIN)/python tests/refresh_golden.py

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff && $(BIN)/ruff check model calibration tests

clean:
	rm -rf $(VENV) out .pytest_cache

# Two commands set everything up: `make demo` runs the round end to end, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint wheel-check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/bcf template new -o out/bcf-template-2015-16.xlsx
	$(BIN)/bcf template new --hwb Kent -o out/bcf-template-kent.xlsx
	$(BIN)/bcf samples generate -o sample_submissions
	rm -f out/national.duckdb
	$(BIN)/bcf batch sample_submissions --db out/national.duckdb
	$(BIN)/bcf national --db out/national.duckdb
	$(BIN)/bcf export --db out/national.duckdb --format xlsx -o out/export
	$(BIN)/bcf stress --db out/national.duckdb
	$(BIN)/bcf letters --db out/national.duckdb -o out/letters
	$(BIN)/bcf report national --db out/national.duckdb -o out/report
	@echo
	@echo "Open: out/letters/index.html (151 letters, HTML and PDF), out/report/national-assurance-report.html (and .pdf),"
	@echo "      out/export/bcf-national.xlsx (the national views); the store is out/national.duckdb"

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

# Build the wheel, install it in a clean environment and make a template from the installed content.
wheel-check: $(STAMP)
	rm -rf dist /tmp/bcf-wheel-venv /tmp/bcf-wheel-check
	$(BIN)/python -m build --wheel --outdir dist . >/dev/null
	$(PYTHON) -m venv /tmp/bcf-wheel-venv
	/tmp/bcf-wheel-venv/bin/pip install --quiet dist/*.whl
	mkdir -p /tmp/bcf-wheel-check && cd /tmp/bcf-wheel-check && /tmp/bcf-wheel-venv/bin/bcf template new --hwb Leeds -o leeds.xlsx
	/tmp/bcf-wheel-venv/bin/python -c "import bcf.content as c; assert '_content' in str(c.root()), c.root(); print('content from', c.root())"

# Stage timings for the whole round, against the floor of merely parsing the files (prints numbers).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) out dist sample_submissions/*.xlsx sample_submissions/manifest.json

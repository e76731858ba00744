# Two commands set everything up: `make demo` runs the round end to end, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint wheel-check bench bench-check clean

# An editable install leaves the package's modules uncompiled, and where bytecode is not written
# (PYTHONDONTWRITEBYTECODE) every process, each batch worker among them, would compile them again: compiled once here.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	rm -rf out && mkdir -p out
	$(BIN)/bcf rounds
	$(BIN)/bcf template new --round 2015-16 -o out/bcf-template-2015-16.xlsx
	$(BIN)/bcf template new --round 2015-16 --hwb Kent -o out/bcf-template-2015-16-kent.xlsx
	$(BIN)/bcf template new --round 2015-16 --return quarterly -o out/bcf-quarterly-2015-16.xlsx
	$(BIN)/bcf samples generate --round 2015-16 -o sample_submissions/2015-16/plan
	$(BIN)/bcf samples generate --round 2015-16 --return quarterly -o sample_submissions/2015-16/quarterly
	$(BIN)/bcf samples generate --round 2016-17 -o sample_submissions/2016-17/plan
	$(BIN)/bcf samples generate --round 2016-17 --return quarterly -o sample_submissions/2016-17/quarterly
	rm -f out/national.duckdb out/national.state.sqlite out/national.state.sqlite-wal out/national.state.sqlite-shm
	$(BIN)/bcf batch sample_submissions/2015-16/plan --db out/national.duckdb --round 2015-16
	$(BIN)/bcf batch sample_submissions/2015-16/quarterly --db out/national.duckdb --round 2015-16 --return quarterly
	$(BIN)/bcf batch sample_submissions/2016-17/plan --db out/national.duckdb --round 2016-17
	$(BIN)/bcf samples generate --round 2015-16 --resubmissions -o sample_submissions/2015-16/resubmitted
	$(BIN)/bcf batch sample_submissions/2015-16/resubmitted --db out/national.duckdb --round 2015-16
	$(BIN)/bcf changes --db out/national.duckdb --round 2015-16
	$(BIN)/bcf changes --db out/national.duckdb --round 2015-16 --hwb Wirral
	$(BIN)/bcf decide --db out/national.duckdb --round 2015-16 --rule BCF-POL-010 --accept \
		--reason "No such boundary in a single-council area" --by "Demo assurer"
	$(BIN)/bcf decisions --db out/national.duckdb --round 2015-16
	$(BIN)/bcf national --db out/national.duckdb --round 2015-16
	$(BIN)/bcf stress --db out/national.duckdb --round 2015-16
	$(BIN)/bcf monitor --db out/national.duckdb --quarter 1
	$(BIN)/bcf track-record --db out/national.duckdb --round 2015-16
	$(BIN)/bcf batch sample_submissions/2016-17/quarterly --db out/national.duckdb --round 2016-17 --return quarterly
	$(BIN)/bcf track-record --db out/national.duckdb --round 2016-17
	$(BIN)/bcf stress --db out/national.duckdb --round 2016-17
	$(BIN)/bcf report site --db out/national.duckdb -o out
	@echo
	@echo "Open out/index.html: every round's national report, letters and export, and every quarter's monitoring"
	@echo "report and area notes, from the store out/national.duckdb. The 2016/17 national report shows how"
	@echo "2015/16's plans fared against what happened, and how much of 2016/17's claims the track record discounts."

# The tests run in one process per core, a test file's tests in one process (its module fixtures are built once),
# the longest files first, in the order tests/conftest.py gives; the sample rounds and stores are built once for all.
# `make test` leaves out the few long end-to-end tests marked slow; `make test-all` runs every test, as CI does.
PYTEST := $(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder

test: $(STAMP)
	$(PYTEST) -m "not slow"

test-all: $(STAMP)
	$(PYTEST)

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
	/tmp/bcf-wheel-venv/bin/python -c "from bcf import reference as r; s = r.source(); assert s.checksum() == s.sha256; print('reference:', s.cite)"

# Stage timings for the whole round, against the floor of merely parsing the files (prints numbers).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# What `bcf check` costs to start and, once started, per workbook, stage by stage (prints numbers).
bench-check: $(STAMP)
	$(BIN)/python benchmarks/check_startup.py

clean:
	rm -rf $(VENV) out dist sample_submissions/20*

# Community analytics workspace. `make` alone lists the targets.
# Every target sets itself up: a fresh clone needs only Python 3.11 and make.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO   := data/raw/demo/truth.json
ARGS   ?=
# JupyterLab refuses to start as root unless told to (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.DEFAULT_GOAL := help
.PHONY: help setup data reports test lab bench calibrate clean distclean

help: ## list the targets
	@echo "Community analytics workspace — make targets:"
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the project and its dependencies into $(VENV) (a few minutes the first time)..."
	@$(PY) -m pip install -qq --upgrade pip
	@$(PY) -m pip install -qq -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name community-analytics \
		--display-name "Community analytics (.venv)" >/dev/null
	@touch $@

setup: $(STAMP) ## create .venv and install the project (done by every target below)

$(DEMO): $(STAMP) $(wildcard src/helpers/synth/*.py) src/helpers/config.py
	$(PY) -m helpers.synth --out data/raw/demo

data: $(DEMO) ## generate the demo community in data/raw/demo (if missing or outdated)

reports: data ## every notebook of notebooks/batch.yml, zh and en, into reports/ (ARGS="--language zh --only NAME ...")
	$(PY) -m helpers.batch $(ARGS)

test: data ## run the whole test suite (unit, statistical, notebooks under nbval, browser)
	$(PY) -m pytest $(ARGS)

lab: data ## start JupyterLab on the workspace with the project's kernel
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks

bench: data ## benchmarks (QUICK=1 for the two smaller sizes; ARGS=--spark adds Spark); prints figures, never fails on speed
	$(PY) benchmarks/run.py $(if $(QUICK),--quick,) $(ARGS)

.PHONY: bench-reports
bench-reports: data ## per report: wall time and peak RSS of a fresh process (SIZES=100000,1000000 ENGINES=pandas,duckdb[,spark])
	$(PY) benchmarks/reports.py $(if $(SIZES),--sizes $(SIZES),) $(if $(ENGINES),--engines $(ENGINES),) $(ARGS)

calibrate: data ## A/A false-positive rates and CI coverage by simulation (~8 min; prints figures)
	$(PY) benchmarks/ab_calibration.py

clean: ## remove generated reports, processed tables, the demo data and caches (keeps .venv)
	rm -rf reports/* data/processed/* data/raw/demo .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
	@touch reports/.gitkeep data/processed/.gitkeep

distclean: clean ## also remove .venv and the benchmark data
	rm -rf $(VENV) data/raw/bench_*

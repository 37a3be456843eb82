# costlib: the two commands in the README are `make report` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.costlib-installed
PARAMS ?= params/default.yaml
PORT   ?= 8866
JOBS   ?=
JOBS_FLAG = $(if $(JOBS),--jobs $(JOBS))

.DEFAULT_GOAL := help
.PHONY: help venv report reports test test-unit test-notebooks lab app bench clean

help: ## list every target with one line each
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "costlib needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install costlib with its test extras

report: $(STAMP) ## build the default report (params/default.yaml) into outputs/default/
	$(BIN)/costlib report $(JOBS_FLAG) $(PARAMS)

reports: $(STAMP) ## build every params file's report, notebooks two at a time (JOBS=1: one)
	$(BIN)/costlib report $(JOBS_FLAG) params/*.yaml

test: $(STAMP) ## run every test: unit tests, doctests, and nbval over the committed reports
	$(BIN)/python -m pytest -p no:cacheprovider --doctest-modules costlib tests \
		--nbval outputs --nbval-sanitize-with tests/nbval_sanitize.cfg

test-unit: $(STAMP) ## unit tests and doctests only (fast)
	$(BIN)/python -m pytest -p no:cacheprovider --doctest-modules costlib tests

lab: $(STAMP) ## open JupyterLab on the notebooks (as root too: containers often run as root)
	$(BIN)/jupyter lab notebooks/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

app: $(STAMP) ## serve the cost explorer web page (Voila, offline) on 127.0.0.1, PORT=8866
	@echo "costlib explorer: http://127.0.0.1:$(PORT)/"
	JUPYTER_PATH=app/jupyter $(BIN)/voila app/explorer.ipynb --template=costlib --no-browser \
		--port=$(PORT) --Voila.ip=127.0.0.1 --strip_sources=True

bench: $(STAMP) ## run the speed and memory benchmarks in bench/
	$(BIN)/python bench/run.py

clean: ## remove the virtualenv and caches (keeps outputs/)
	rm -rf $(VENV) .pytest_cache build *.egg-info

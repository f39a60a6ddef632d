# attnmath — every target creates .venv and installs what it needs when missing
# (stamp files; idempotent: a second run installs nothing and takes seconds).
#
#   make book        build the book offline into book/_build/html and print its index.html
#   make test        everything CI checks: lint, import contracts, unit/property tests, claims, kernels,
#                    notebooks (nbval: normal, rerun, foreign numerics), jupytext pairs,
#                    strict book build, browser check, pinned environment, wheel
#   make test-fast   lint + unit/property tests + claims, without slow tests, notebooks or book
#   make types       type-check attnmath/ and kernels/ (mypy, configured in pyproject.toml [tool.mypy])
#   make verify      run every claim (python -m attnmath verify) and write the ledger
#   make paper       the claims at paper scale on a Dask cluster (embedded: WORKERS=N, default the CPU count;
#                    or CLUSTER=tcp://host:8786), SELECT=a,b to select; merged into the dated ledger
#                    book/ledger-paper.json that the book's "Paper scale" page shows
#   make notebooks   re-execute every notebook and store its outputs (after editing a chapter)
#   make lab         open the notebooks in JupyterLab (jupytext pairs)
#   make bench       CPU benchmark of the chunked forms with a bmm roofline and issue 18's goals (exits 1
#                    when a goal fails; every figure in book/_build/bench_cpu.json)
#   make gpu-check   the GPU tier in one command (CUDA): GPU tests, copy bandwidth, Triton vs fla and SDPA
#   make mutate      mutation testing (mutmut) of the core modules against the fast unit/property
#                    tests, then the per-module score table (tools/mutation_report.py, >= 85 %)
#   make fuzz        issue 17's fuzz harness in full: every public callable x every corruption of each
#                    argument (tests/fuzz), the outcome table (clear/valid/unclear/silent/hang); fails
#                    on any unclear, silent or hang call (the `unit` stage runs a seeded sample)
#   make clean       remove build outputs (keeps .venv; `make distclean` removes it too)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
STAGE := tools/stage.sh
SITE := book/_build/html
LEDGER := book/_build/ledger.json
SOURCES := $(shell find attnmath kernels -name '*.py' 2>/dev/null)
export PYTHONHASHSEED := 0

.PHONY: book book-only test test-fast types verify notebooks index lab bench mutate mutate-report clean distclean deps-base deps-test deps-book deps-lab deps-mutate deps-cluster paper constraints \
	rerun-check verify-determinism coverage controls-check lab-check foreign-check check-env wheel-check fuzz gpu-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.stamp-base: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	@touch $@
$(VENV)/.stamp-test: pyproject.toml constraints.txt $(VENV)/.stamp-base
	$(PIP) -e ".[test,compare,cluster]"
	@touch $@
$(VENV)/.stamp-book: pyproject.toml constraints.txt $(VENV)/.stamp-base
	$(PIP) -e ".[book]"
	@touch $@
$(VENV)/.stamp-lab: pyproject.toml constraints.txt $(VENV)/.stamp-base
	$(PIP) -e ".[lab]"
	@touch $@
$(VENV)/.stamp-cluster: pyproject.toml constraints.txt $(VENV)/.stamp-base
	$(PIP) -e ".[cluster]"
	@touch $@
$(VENV)/.stamp-mutate: pyproject.toml constraints.txt $(VENV)/.stamp-base
	$(PIP) -e ".[test,mutate]"
	@touch $@

deps-base: $(VENV)/.stamp-base
deps-test: $(VENV)/.stamp-test
deps-book: $(VENV)/.stamp-book
deps-lab: $(VENV)/.stamp-lab
deps-mutate: $(VENV)/.stamp-mutate
deps-cluster: $(VENV)/.stamp-cluster

# The ledger page needs claim results; `make test` writes them from pytest, otherwise run them.
$(LEDGER): $(SOURCES) | $(VENV)/.stamp-base
	$(BIN)/python -m attnmath verify --no-progress --out $(LEDGER) > /dev/null

book: deps-book $(LEDGER)
	@$(MAKE) --no-print-directory book-only
	@echo "book: $(abspath $(SITE))/index.html"

book-only:
	$(BIN)/sphinx-build -q -W --keep-going -n -c book -b html . $(SITE)

test: export STAGE_LOG ?= book/_build/stage-times.txt
# The claims stage stores each result; the notebooks' claims.show() then reuses it when the
# source fingerprint matches (attnmath.claims), instead of running every claim twice.
test: export ATTNMATH_CLAIM_CACHE := $(abspath book/_build/claim-cache)
test:
	@[ -n "$$STAGE_LOG_KEEP" ] || rm -f $(STAGE_LOG)
	@rm -rf $(ATTNMATH_CLAIM_CACHE)
	@$(STAGE) install $(MAKE) --no-print-directory deps-test deps-book deps-lab
	@$(STAGE) pins $(MAKE) --no-print-directory check-env
	@$(STAGE) lint $(BIN)/ruff check .
	@$(STAGE) imports $(BIN)/lint-imports --no-cache
	@$(STAGE) types $(BIN)/mypy
	@$(STAGE) format $(BIN)/ruff format --check --quiet .
	@$(STAGE) pairs $(BIN)/python tools/check_pairs.py notebooks
	@$(STAGE) unit $(BIN)/pytest -q -n 2 tests --ignore=tests/browser --ignore=tests/lab --ignore=tests/test_claims.py --ignore=tests/kernels -m "not gpu"
	@$(STAGE) claims $(BIN)/pytest -q -n 2 tests/test_claims.py
	@$(STAGE) controls $(MAKE) --no-print-directory controls-check
	@if [ -d tests/kernels ]; then $(STAGE) kernels $(BIN)/pytest -q -n 2 tests/kernels -m "not gpu"; fi
	@$(STAGE) nbval $(MAKE) --no-print-directory rerun-check RERUNS=1
	@$(STAGE) rerun $(MAKE) --no-print-directory rerun-check RERUNS=1
	@$(STAGE) foreign $(MAKE) --no-print-directory foreign-check
	@$(STAGE) book env ATTNMATH_BLOCK_NETWORK=1 PYTHONPATH=tests/netguard $(MAKE) --no-print-directory book-only
	@$(STAGE) browser $(BIN)/pytest -q -m browser tests/browser
	@$(STAGE) lab $(MAKE) --no-print-directory lab-check
	@$(STAGE) wheel $(MAKE) --no-print-directory wheel-check
	@$(STAGE) --report

# mypy reads its files and options from pyproject.toml ([tool.mypy]); the kernels are checked as attnmath.kernels
# through tools/mypy_path (a symlink to kernels/, the mapping setup.py's package_dir makes for the installed package).
types: deps-test
	$(BIN)/mypy

test-fast: deps-test deps-book
	$(BIN)/ruff check .
	$(BIN)/python tools/check_pairs.py notebooks
	$(BIN)/pytest -q -n 2 tests --ignore=tests/browser --ignore=tests/lab -m "not slow and not gpu"

verify: deps-base
	$(BIN)/python -m attnmath verify --out $(LEDGER)

# Paper scale (issue 19): the selected claims (SELECT: a comma-separated -k selection; default every claim) at
# --tier paper, with their sweep cells, on an embedded Dask cluster of WORKERS worker processes (default: the
# CPU count) or on a running scheduler (CLUSTER=tcp://host:8786; see the README). The run is merged into the
# dated ledger $(PAPER_LEDGER) (committed; the book shows it beside the ci ledger); finished cells stay in
# $(CELL_STORE) (content-addressed), so a rerun after an interruption reuses them.
PAPER_LEDGER := book/ledger-paper.json
CELL_STORE ?= .cell-store
paper: deps-cluster
	$(BIN)/python -m attnmath verify --tier paper $(if $(SELECT),-k "$(SELECT)") \
		$(if $(CLUSTER),--cluster $(CLUSTER),$(if $(WORKERS),--workers $(WORKERS))) \
		--store $(CELL_STORE) --ledger $(PAPER_LEDGER) --out book/_build/paper-run.json

# Determinism: every notebook re-executed and compared with its stored outputs (nbval, sanitiser)
# RERUNS times. `make test` (hence CI) runs it as its nbval stage and its rerun stage (one run
# each), reusing that test run's claim results and trained MQAR models (ATTNMATH_CLAIM_CACHE); its
# third run is the foreign-numerics stage below.
# One torch thread per notebook kernel: two kernels share the two cores, and small matrix products
# oversubscribed across threads ran 3x slower (notebook 30: 63 s -> 19 s with one thread).
RERUNS ?= 3
rerun-check: export OMP_NUM_THREADS := 1
rerun-check: export MKL_NUM_THREADS := 1
rerun-check: deps-test
	@for i in $$(seq 1 $(RERUNS)); do echo "== notebook run $$i of $(RERUNS)"; \
	  $(BIN)/pytest -q -n 2 --dist loadfile notebooks || exit 1; done

# Foreign numerics (tools/foreign_numerics.py): the third notebook run of `make test`, under a
# different SIMD/BLAS code path, with a fresh claim cache so that every claim (and every trained
# model) is recomputed there; then `verify --json` in the same environment (it reads the claims the
# notebooks just computed under it) and its verdicts compared with the normal run's ledger.
FOREIGN_ENV := ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Sandybridge NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4" MKL_CBWR=COMPATIBLE
FOREIGN_CACHE := $(abspath book/_build/claim-cache-foreign)
foreign-check: deps-test $(LEDGER)
	@env $(FOREIGN_ENV) $(BIN)/python tools/foreign_numerics.py check
	@rm -rf $(FOREIGN_CACHE)
	@env $(FOREIGN_ENV) ATTNMATH_CLAIM_CACHE=$(FOREIGN_CACHE) OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	  $(BIN)/pytest -q -n 2 --dist loadfile notebooks
	@env $(FOREIGN_ENV) ATTNMATH_CLAIM_CACHE=$(FOREIGN_CACHE) TRITON_INTERPRET=1 \
	  $(BIN)/python -m attnmath verify --json --no-progress --out book/_build/ledger-foreign.json > /dev/null || true
	@$(BIN)/python tools/foreign_numerics.py compare $(LEDGER) book/_build/ledger-foreign.json

# Negative controls: every claim declares at least one (a wrong world in which its checks must fail),
# and every control is caught. The claims stage of `make test` already ran them (tests/test_claims.py);
# here the CLI reports them from that run's cache (ATTNMATH_CLAIM_CACHE), or runs them when called alone.
controls-check: deps-test
	@bare=$$($(BIN)/python -m attnmath list --uncontrolled 2>/dev/null); \
	  if [ -n "$$bare" ]; then echo "claims without a negative control:"; echo "$$bare"; exit 1; fi
	@$(BIN)/python -m attnmath verify --controls --json --no-progress --out book/_build/ledger-controls.json > /dev/null
	@$(BIN)/python -c "import json; r = json.load(open('book/_build/ledger-controls.json'))['controls']; \
	  print('controls:', r['run'] - r['not_caught'], 'of', r['run'], 'caught; every claim has one')"

# The pinned environment (constraints.txt, every extra) must resolve from the public package index
# alone (pip --isolated: no local wheel folder, no extra index) for Python 3.11, 3.12 and 3.13.
check-env: deps-test
	$(BIN)/python tools/check_env.py

# The sdist and wheel as a user gets them; the wheel installed (not editable) in a fresh venv runs
# `python -m attnmath verify -k softmax` from outside the repository.
wheel-check: deps-test
	PYTHON=$(PYTHON) tools/wheel_smoke.sh

# Three fresh `python -m attnmath verify --json` runs must agree (pass/fail, errors to %.2e).
verify-determinism: deps-base
	$(BIN)/python tools/verify_determinism.py --runs 3

# Line + branch coverage of attnmath/ and kernels/ over unit, property, claim and kernel tests.
coverage: deps-test
	$(BIN)/coverage erase
	$(BIN)/pytest -q -n 2 tests -m "not gpu and not browser" --ignore=tests/browser --cov --cov-branch --cov-report=
	$(BIN)/coverage json -q -o book/_build/coverage.json
	$(BIN)/coverage report --skip-covered --sort=cover | tail -25
	$(BIN)/python tools/coverage_report.py book/_build/coverage.json

notebooks: deps-test
	$(BIN)/python tools/execute_notebooks.py --all

# The static claim index that `python -m attnmath list` reads without importing a chapter
# (attnmath/ledger/claims_index.json): rewrite it after adding or editing a claim or a control;
# tests/ledger/test_index.py fails while it is stale.
index: deps-base
	$(BIN)/python -m attnmath.ledger.index

lab: deps-lab
	BIN=$(abspath $(BIN)) tools/lab.sh

# JupyterLab as readers use it (as root in a container too): start it headless, open a chapter's .md
# as a notebook through jupytext, run its first code cells in the server's kernel (tests/lab/).
lab-check: deps-lab
	$(BIN)/pytest -q -p no:xdist -m lab tests/lab

bench: deps-test
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python benchmarks/bench_cpu.py --json book/_build/bench_cpu.json

# The GPU tier in one command (needs CUDA; under 8 minutes on one GPU): the GPU tests, the device's copy
# bandwidth, bench_gpu.py's contenders, the goals; book/_build/gpu_check.json and a markdown table.
gpu-check: deps-test
	$(BIN)/python benchmarks/gpu_check.py --json book/_build/gpu_check.json --table book/_build/gpu_check.md

# Mutation testing: modules in [tool.mutmut] only_mutate (pyproject.toml) and MODULES in
# tools/mutation_report.py. A fresh run each time (a cached mutants/ would keep verdicts from
# older tests); niced, one thread per child. MUTATE_JOBS children (default 1: the 2 cores are
# shared; `make mutate MUTATE_JOBS=2`: 10155 mutants in 62 min on 2 cores, 2026-12-07).
MUTATE_JOBS ?= 1
mutate: deps-mutate
	rm -rf mutants
	set -o pipefail; OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 19 $(BIN)/mutmut run --max-children $(MUTATE_JOBS) \
	  | tail -c 600 | tr '\r' '\n' | tail -n 3
	@$(MAKE) --no-print-directory mutate-report

mutate-report:
	$(BIN)/python tools/mutation_report.py

# The fuzz harness in full (tools/fuzz_report.py; details in book/_build/fuzz.json): fails on any
# unclear, silent or hang call. Justified exceptions, with reasons: tests/fuzz/known_*.py.
fuzz: deps-test
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python tools/fuzz_report.py

constraints: deps-test deps-book deps-lab
	@{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^attnmath' \
	  | sed 's/^torch==\([0-9.]*\)+cpu/torch==\1/'; sed -n '/^# Kept by `make constraints`/,$$p' constraints.txt; } \
	  > constraints.new && mv constraints.new constraints.txt
	$(MAKE) --no-print-directory check-env

clean:
	rm -rf book/_build _build .jupyter_cache .hypothesis .coverage htmlcov mutants
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info

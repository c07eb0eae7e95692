# Two commands on a fresh machine with Python 3.11+: `make run` (the replay of the sample plan) and `make test`.
# Both build .venv from requirements.lock (hashes checked) the first time, and reuse it after.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PLAN   ?= deadlines.yaml

.PHONY: run test lock clean

SEED   ?=
run: $(VENV)/.installed        ## check the plan, then replay it 2019-10-01 … 2021-12-31 on a fresh SQLite file
	$(BIN)/duban plan check $(PLAN)
	$(BIN)/duban simulate --plan $(PLAN) $(if $(SEED),--seed $(SEED))

test: $(VENV)/.installed       ## the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# uv prefers the versions already in requirements.lock: only what pyproject.toml's change needs moves
# (`--upgrade-package NAME` moves one on purpose).
lock:                          ## re-pin dependencies after editing pyproject.toml (needs uv)
	uv pip compile pyproject.toml build-requirements.in --extra test --extra postgres --universal \
		--python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# Two commands on a fresh machine with Python 3.11+: `make run` (the replay of the sample plan) and `make test`.
# Both build .venv from requirements.lock (hashes checked) the first time, and reuse it after.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
PLAN   ?= deadlines.yaml

.PHONY: run test test-fast install system-packages lock clean

SEED   ?=
run: $(VENV)/.installed        ## check the plan, then replay it 2019-10-01 … 2021-12-31 on a fresh SQLite file
	$(BIN)/duban plan check $(PLAN)
	$(BIN)/duban simulate --plan $(PLAN) $(if $(SEED),--seed $(SEED))

test: system-packages $(VENV)/.installed   ## the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed  ## the fast loop: no processes, browser, Prefect, replays or PostgreSQL (under a minute)
	DUBAN_TEST_POSTGRES=off $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

system-packages:               ## Chromium, CJK fonts and PostgreSQL's server for the tests: installs what is missing
	@bash tests/system-packages.sh

install: $(VENV)/.installed    ## only build the virtualenv (`make install VENV=/some/where` builds one elsewhere)

# The lock is complete: every package with its hashes, the test and postgres extras and the build backend
# included. So pip installs exactly the lock and resolves nothing (--no-deps), and `pip check` confirms the
# pins agree with each other and with duban's own requirements. --no-deps also keeps the install working
# under a global constraints file (PIP_CONSTRAINT, or `constraint =` in a pip.conf): with one, pip's
# resolver refuses the lock in --require-hashes mode ("all requirements must have their versions pinned
# with ==", for an extra such as httpx[http2]), even when the constraints name nothing the lock holds.
# duban itself is installed editable with the lock's setuptools (--no-build-isolation: nothing downloaded).
$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes --no-deps -r requirements.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PIP) check
	touch $@

# uv prefers the versions already in requirements.lock: only what pyproject.toml's change needs moves
# (`--upgrade-package NAME` moves one on purpose).
lock:                          ## re-pin dependencies after editing pyproject.toml (needs uv)
	uv pip compile pyproject.toml build-requirements.in --extra test --extra postgres --universal \
		--python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

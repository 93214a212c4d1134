# Every target sets up (or refreshes) .venv first: core + every plugin, editable, with the pins.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PLUGINS := $(sort $(wildcard plugins/*/pyproject.toml))
STAMP := $(VENV)/.installed
export MALLOC_MMAP_THRESHOLD_ := 1000000000
export MALLOC_TRIM_THRESHOLD_ := 4000000000
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: venv test test-fast test-install format demo bench clean

$(STAMP): pyproject.toml constraints.txt $(PLUGINS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# the distributions were called zoo and zoo-NAME before they became genzoo and genzoo-NAME: drop old copies
	$(PY) -m pip uninstall -q -y zoo $(patsubst plugins/%/pyproject.toml,%,$(PLUGINS)) 2>/dev/null || true
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]' \
		$(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(PY) -m pytest -q -n 2

# Everything but the tests marked slow (subprocesses, torchrun, pip installs): for the edit-test loop.
# make test (and CI) still runs them all. -m replaces pyproject's -m, so `install` stays excluded here.
test-fast: venv
	$(PY) -m pytest -q -n 2 -m 'not slow and not install'

# make test checks lint and format (tests/test_structure.py); this applies ruff's fixes and formatting.
format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-install: venv
	$(PY) -m pytest -q -m install

demo: venv
	$(VENV)/bin/zoo demo --out outputs/demo.png

bench: venv
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) outputs .pytest_cache

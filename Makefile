# The two commands a newcomer runs: `make audit` (the main job) and `make test` (the whole suite).
# Both set up .venv on first use; nothing else needs installing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: audit test setup clean

audit: $(STAMP)
	$(BIN)/procflow validate processes/

test: $(STAMP)
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis

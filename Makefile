# The two commands a newcomer runs: `make audit` (the main job) and `make test` (the whole suite).
# Both set up .venv on first use, and the system packages below where they are missing; nothing
# else needs installing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Generated files go to out/, never build/: a build/ folder in the checkout would shadow the
# `build` package that `python -m build` runs.
BOOK := out/book
LOCK := requirements.lock
EXTRAS := dev,postgres,bench,serve

.PHONY: audit test check lint bench setup system browser node editor-tools lock test-latest clean

audit: setup
	$(BIN)/procflow validate processes/
	$(BIN)/procflow book processes/ -o $(BOOK)

test: setup browser editor-tools
	$(MAKE) --no-print-directory check BIN=$(BIN)

# The checks every change must pass, with whichever environment BIN points at. PROCFLOW_REQUIRE_TOOLS:
# here a missing dot, chromium or yaml-language-server fails the tests that need it, not skips them.
check: lint
	PROCFLOW_REQUIRE_TOOLS=1 $(BIN)/python -m pytest -n auto

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict

# The benchmarks beside the peers, instruction counts (valgrind) included; about fifteen minutes. It
# prints every row and issue 16's targets, writes the rows to benchmarks/latest.json (BENCH_JSON:
# elsewhere) and regenerates benchmarks/README.md's figures from them.
bench: setup
	$(BIN)/python -m benchmarks --size full --callgrind --json $(or $(BENCH_JSON),benchmarks/latest.json) --readme benchmarks/README.md

setup: $(STAMP) system

# Every dependency comes from the lock, each checked against its hashes; procflow itself is
# installed editable on top, with no dependency resolution of its own.
$(STAMP): pyproject.toml $(LOCK)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Refresh the lock to the newest versions pyproject.toml's ranges allow (then run make test).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra $(subst $(comma), --extra ,$(EXTRAS)) --upgrade \
		--generate-hashes --universal --python-version 3.11 --quiet -o $(LOCK)

# The suite on the newest versions the ranges allow, in a venv of its own, so drift is seen before
# it breaks a fresh clone; when it fails, tools/drift.py names the dependency that broke it.
LATEST := .venv-latest
test-latest: system browser editor-tools
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade -e '.[$(EXTRAS)]'
	$(MAKE) --no-print-directory check BIN=$(LATEST)/bin || $(BIN)/python tools/drift.py $(LOCK) $(LATEST)

comma := ,

# Debian packages, each installed only when its check fails:
#   graphviz        the `dot` program that lays out every diagram (SVG, PNG, PDF)
#   fonts-noto-cjk  a CJK font, so Chinese labels are glyphs, not boxes, in PNG, PDF and the browser
#   chromium        (tests only) the headless browser the audit book's tests load pages in
system:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	$(INSTALL_MISSING)

browser:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	$(INSTALL_MISSING)

node:
	@missing=""; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	$(INSTALL_MISSING)

# (tests only) yaml-language-server, the language server editors run, which tests/test_editor_schema.py
# drives over LSP: installed from tests/editor/package-lock.json into tests/editor/node_modules.
# And bpmn-js, the BPMN viewer tests/test_bpmn.py opens each procedure's .bpmn in (in headless Chromium,
# its dist files served from localhost): installed from tests/bpmn/package-lock.json into tests/bpmn/node_modules.
# And mermaid, the renderer tests/test_mermaid_render.py draws each procedure's Mermaid chart with (the same
# way): installed from tests/mermaid/package-lock.json into tests/mermaid/node_modules.
EDITOR_TOOLS := tests/editor/node_modules/.package-lock.json
BPMN_TOOLS := tests/bpmn/node_modules/.package-lock.json
MERMAID_TOOLS := tests/mermaid/node_modules/.package-lock.json
editor-tools: $(EDITOR_TOOLS) $(BPMN_TOOLS) $(MERMAID_TOOLS)

$(EDITOR_TOOLS): tests/editor/package.json tests/editor/package-lock.json | node
	cd tests/editor && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(BPMN_TOOLS): tests/bpmn/package.json tests/bpmn/package-lock.json | node
	cd tests/bpmn && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(MERMAID_TOOLS): tests/mermaid/package.json tests/mermaid/package-lock.json | node
	cd tests/mermaid && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# As root with apt-get: install (refreshing the package lists only if the first try fails, and
# waiting for another apt to finish); otherwise say what to install and stop.
INSTALL_MISSING = \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing the Debian packages$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt="apt-get -q -y -o DPkg::Lock::Timeout=600"; \
		$$apt install $$missing >/dev/null 2>&1 || { $$apt update && $$apt install $$missing; } \
			|| { echo "make: apt-get could not install$$missing" >&2; exit 1; }; \
	else \
		echo "make: these system packages are missing:$$missing" >&2; \
		echo "make: install them (as root: apt-get install$$missing), then run make again" >&2; \
		exit 1; \
	fi

clean:
	rm -rf $(VENV) $(LATEST) out dist .pytest_cache .hypothesis tests/editor/node_modules tests/bpmn/node_modules \
		tests/mermaid/node_modules

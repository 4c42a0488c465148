# Two commands for a newcomer: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: run test setup browser lint lock migrate bench clean

run: setup
	$(BIN)/safecity migrate
	$(BIN)/safecity load-demo-shelters --if-empty
	$(BIN)/safecity run

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

setup: $(VENV)/.synced

# The console's browser tests drive Debian's chromium; a Korean font makes their screenshots legible. A fresh CI
# machine runs as root with apt reachable; elsewhere the browser tests skip, saying why (and fail where CI is set).
CHROMIUM := /usr/bin/chromium
KOREAN_FONT := /usr/share/fonts/truetype/nanum/NanumGothic.ttf
browser:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium"; \
	[ -e $(KOREAN_FONT) ] || missing="$$missing fonts-nanum"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "not installed:$$missing (and this is not root): the browser tests may skip; apt-get install $$missing"; \
	  fi; \
	fi

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# requirements.lock pins every package with its hashes; `make lock` writes it again from pyproject.toml.
$(VENV)/.synced: $(UV) pyproject.toml requirements.lock
	test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --require-hashes requirements.lock
	$(UV) pip install --quiet --no-deps --editable .
	@touch $@

lock: $(UV)
	$(UV) pip compile pyproject.toml --group dev --generate-hashes --no-header --python $(PYTHON) -o requirements.lock

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrate: setup
	$(BIN)/safecity migrate

bench: setup
	$(BIN)/python -m bench.api

clean:
	rm -rf $(VENV) $(TOOLS)

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

.PHONY: run test setup browser lint lock migrate bench clean bot bot-model bot-lock

# bot-model trains only when the bot's config, domain or data changed; `safecity run` then starts Rasa with it.
run: setup bot-model
	$(BIN)/safecity migrate
	$(BIN)/safecity load-demo-shelters --if-empty
	$(BIN)/safecity run

test: setup browser bot lint
	$(BIN)/pytest

setup: $(VENV)/.synced

# Debian's packages the tests drive: chromium for the console's browser tests (a Korean font makes their
# screenshots legible), and promtool (package prometheus; its server is not started) to check the alert rules. A
# fresh CI machine runs as root with apt reachable; elsewhere those tests skip, saying why (and fail where CI is set).
CHROMIUM := /usr/bin/chromium
KOREAN_FONT := /usr/share/fonts/truetype/nanum/NanumGothic.ttf
PROMTOOL := /usr/bin/promtool
browser:
	@missing=""; \
	[ -x $(CHROMIUM) ] || missing="chromium"; \
	[ -e $(KOREAN_FONT) ] || missing="$$missing fonts-nanum"; \
	[ -x $(PROMTOOL) ] || missing="$$missing prometheus"; \
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

# The floors (import-linter's contracts in pyproject.toml) and the types (mypy) are checked with the style.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

migrate: setup
	$(BIN)/safecity migrate

bench: setup
	$(BIN)/python -m bench.api

clean:
	rm -rf $(VENV) $(TOOLS) $(BOT_VENV) bot/models

# The chatbot: Rasa Open Source 3.6 in its own environment, bot/.venv. Rasa and rasa-sdk 3.6 declare Python <3.11
# and Rasa's pins conflict with the API's, so they are installed without their dependencies (pip's
# --ignore-requires-python: uv has no such switch), and their dependencies from bot/requirements.lock.
BOT_VENV := bot/.venv
BOT_PY := $(BOT_VENV)/bin/python
bot: $(BOT_VENV)/.synced

$(BOT_VENV)/.synced: $(UV) bot/requirements.lock bot/requirements-rasa.txt
	test -x $(BOT_PY) || $(PYTHON) -m venv $(BOT_VENV)
	VIRTUAL_ENV= $(UV) pip sync --quiet --require-hashes --python $(BOT_PY) bot/requirements.lock
	$(BOT_PY) -m pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python \
	  --require-hashes -r bot/requirements-rasa.txt
	@touch $@

# Trains bot/models/<hash>.tar.gz once per content of the config, domain, data and Rasa version, points
# bot/models/current.tar.gz at it, deletes models older than an hour that are not it, and prints nothing unless
# training fails (then its log).
# PYTHONPATH: the root, where Rasa finds the components of bot/nlu/ that bot/config.yml names (their code and
# bot's lock are in the hash too).
BOT_ENV := RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1 PYTHONPATH=$(CURDIR)
bot-model: bot
	@h=$$(for f in bot/config.yml bot/domain.yml bot/requirements-rasa.txt bot/requirements.lock \
	  $$(find bot/data bot/nlu -type f -name '*.y*ml' -o -type f -name '*.py' | LC_ALL=C sort); \
	  do echo "== $$f"; cat "$$f"; done | sha256sum | cut -c1-16); \
	if [ ! -e bot/models/$$h.tar.gz ]; then \
	  mkdir -p bot/models; \
	  (cd bot && $(BOT_ENV) .venv/bin/rasa train --config config.yml --domain domain.yml --data data --out models \
	    --fixed-model-name $$h) > bot/models/train.log 2>&1 || { cat bot/models/train.log; exit 1; }; \
	fi; \
	ln -sfn $$h.tar.gz bot/models/current.tar.gz; \
	find bot/models -name '*.tar.gz' -type f ! -name $$h.tar.gz -mmin +60 -delete

bot-lock: $(UV)
	$(UV) pip compile bot/requirements.in --python-version 3.10 --python-platform x86_64-manylinux_2_28 \
	  --generate-hashes --no-header -o bot/requirements.lock

# Two commands: `make run` and `make test`. Each bootstraps .venv on a fresh machine
# (python3 + make are all it needs) and is quick once the environment exists.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT).venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest fmt clean

$(STAMP): $(ROOT)pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '$(ROOT).[dev]'
	touch $(STAMP)

# With a Slack token (the environment, or .env where warroom reads it: here): the bot.
# Without one: the sandbox, a local workspace in the browser (its data here too).
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN" ] || grep -qsE '^[[:space:]]*SLACK_BOT_TOKEN[[:space:]]*=[[:space:]]*[^[:space:]#]' .env; then \
		exec $(VENV)/bin/warroom serve; \
	else \
		echo "SLACK_BOT_TOKEN is not set: starting warroom sandbox, a local Slack workspace in your browser (to connect a real workspace, see README.md 'Create the Slack app' and set SLACK_BOT_TOKEN in .env)"; \
		exec $(VENV)/bin/warroom sandbox --port "$${PORT:-3000}"; \
	fi

test: lint typecheck pytest

lint: $(STAMP)
	cd $(ROOT) && $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	cd $(ROOT) && $(VENV)/bin/mypy --strict bot store

pytest: $(STAMP)
	cd $(ROOT) && $(PY) -m pytest $(PYTEST_ARGS)

fmt: $(STAMP)
	cd $(ROOT) && $(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

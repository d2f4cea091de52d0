# Parley: `make run` serves it, `make test` tests it. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run serve lock test quick lint setup browser nginx node app clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

browser:
	@bash scripts/ensure-chromium

nginx:
	@bash scripts/ensure-nginx

# The JavaScript workspaces (the SDK, the SvelteKit app, axe-core for the browser tests), as
# package-lock.json pins them; npm runs again only when a package file is newer than the install.
node: node_modules/.installed

node_modules/.installed: package-lock.json package.json clients/typescript/package.json \
		frontend/package.json
	@bash scripts/ensure-node
	npm ci --no-audit --no-fund
	touch $@

# The SvelteKit client, built to frontend/build/ (Parley serves it at /app/).
app: node
	npm run --workspace frontend build

run: setup app
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "Parley is at http://$(HOST):$(PORT)/ and its SvelteKit app at /app/  (log in as alice / parley-demo)"
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan off \
		--ws chat.realtime.uvicorn_protocol:SharedFrameProtocol

# Production on this machine: the locked versions (as every production install, README
# "Deploying"), then WORKERS processes from PORT up, for a proxy.
serve: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	WORKERS=$(or $(WORKERS),2) PORT=$(or $(SERVE_PORT),8001) scripts/serve

# requirements.lock from pyproject.toml and constraints.txt: every package a production install
# needs, on any platform and Python that pyproject.toml allows, pinned with hashes. Versions
# already in it are kept unless pyproject.toml rules them out; `make lock LOCK_ARGS=--upgrade`
# moves everything to the newest allowed.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--constraint constraints.txt --custom-compile-command "make lock" \
		--output-file requirements.lock --quiet $(LOCK_ARGS)

test: setup browser nginx node
	node --test tests/js/
	npm run --workspace clients/typescript test
	npm run --workspace frontend test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The inner loop: unit and in-process tests, without real servers, faults, browsers or the bench.
quick: setup
	$(BIN)/python -m pytest -q --ignore=tests/e2e --ignore=tests/faults --ignore=tests/browser \
		--ignore=tests/bench $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

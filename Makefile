# One command each: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: install browser run migrate demo test test-postgres test-caches lint format bench clean fuzz \
	widgets lint-js format-js messages

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

migrate: install
	$(BIN)/flask db upgrade

# A receiver on this machine (the demo site's webhook page) needs both.
LOCAL_WEBHOOKS := WEBHOOKS_ALLOW_PRIVATE=1 WEBHOOKS_ALLOW_HTTP=1

demo: migrate
	$(LOCAL_WEBHOOKS) $(BIN)/flask demo

# The API on :8000, the worker (webhooks, jobs, periodic tasks) beside it, and on a second
# origin (:8001) a pretend customer site embedding the widgets and receiving the webhooks.
# Ctrl-C stops all three; the worker first finishes the sends it has in flight.
run: demo
	export $(LOCAL_WEBHOOKS); \
	$(BIN)/python -m demo.site & site=$$!; \
	$(BIN)/flask worker & worker=$$!; \
	trap 'trap - EXIT INT TERM; kill $$site $$worker 2>/dev/null; wait' EXIT INT TERM; \
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The browser tests drive Debian's chromium; install it when we can (root, apt).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); } || \
	  echo "chromium is missing: the browser tests will be skipped (CI fails instead)"

test: install browser
	$(BIN)/pytest

# Its own Redis database (the SQLite run takes 15), so both runs may go at once.
test-postgres: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/flipfunnel_test} \
	  TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/14} $(BIN)/pytest

# The widget, referral and testimonial tests again with the per-worker memories on, as in
# production (the suite runs with them off; tests/conftest.py reads TEST_CACHES).
test-caches: install
	TEST_CACHES=1 $(BIN)/pytest -q tests/test_widget_*.py tests/test_referral_*.py \
	  tests/test_testimonials.py tests/test_recent.py

# schemathesis against /openapi.json of the app running under gunicorn, on a scratch
# database with a workspace made for the run (tests/fuzz.py): fails on any server error
# and on any answer the document does not describe. FUZZ_SECONDS bounds its time.
FUZZ_SECONDS ?= 75
fuzz: install
	$(BIN)/python -m tests.fuzz --max-time $(FUZZ_SECONDS)

lint: install lint-js
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install format-js
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The widget scripts: widgets/src bundled and minified by esbuild into widgets/dist, which
# is committed (the app serves it, and runs from a clone without Node). After changing
# widgets/src: `make widgets`, then commit both; `make lint` fails while they differ.
NODE_BIN := node_modules/.bin
JS_SOURCES := widgets/src widgets/build.mjs eslint.config.js

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

widgets: node_modules/.installed
	node widgets/build.mjs

lint-js: node_modules/.installed
	$(NODE_BIN)/eslint .
	$(NODE_BIN)/prettier --check --log-level warn $(JS_SOURCES)
	node widgets/build.mjs --check

format-js: node_modules/.installed
	$(NODE_BIN)/prettier --write --log-level warn $(JS_SOURCES)

# The gettext catalogs (README "Languages"): after adding or changing a string in the code,
# `make messages` extracts them all (babel.cfg), merges them into every locale's .po and
# compiles the .mo files, which are committed like widgets/dist; the tests fail while a
# string is untranslated or a .mo differs from its .po.
I18N := api/i18n
messages: install
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --project=Flipfunnel -w 100 \
	  -o $(I18N)/messages.pot .
	$(BIN)/pybabel -q update -i $(I18N)/messages.pot -d $(I18N)/translations -w 100 \
	  --ignore-obsolete --ignore-pot-creation-date
	$(BIN)/pybabel compile -d $(I18N)/translations --statistics

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

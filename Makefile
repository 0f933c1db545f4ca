# Two commands for a newcomer: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-pgbouncer lint bench venv lock tgemu clean screenshots

LOCKS := requirements.lock requirements-dev.lock
# The same lock wherever it is made: resolved for Linux and Python 3.11, the servers' platform.
UV_COMPILE := $(VENV)/bin/uv pip compile -q --generate-hashes --strip-extras \
	--python-version 3.11 --python-platform linux --override requirements-overrides.txt \
	--custom-compile-command "make lock" $(UPGRADE)

# A fresh .venv holding exactly the lock, every file checked against its hash. --no-deps: the lock
# is complete by itself and leaves out what requirements-overrides.txt drops.
$(STAMP): $(LOCKS)
	$(PYTHON) -m venv --clear $(VENV) && $(PY) -m pip install -q --disable-pip-version-check \
		--require-hashes --no-deps -r requirements-dev.lock && touch $(STAMP)

venv: $(STAMP)

# After editing requirements*.txt: the locks keep every pin they can (uv prefers the versions
# already in the output file); `make lock UPGRADE=--upgrade` takes the newest of everything.
lock: $(STAMP)
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock

demo: $(STAMP) ; $(PY) bot.py demo

test: $(STAMP) ; $(PY) -m ruff check . && $(PY) tools/browser.py && $(PY) tools/servers.py && $(PY) -m pytest

# The end-to-end suite with every bot process reaching PostgreSQL through PgBouncer in
# transaction pooling (FITCLUB_TEST_PGBOUNCER=1, see tests/e2e/conftest.py). Left out, as they
# need the bot straight on PostgreSQL: test_runtime_database.py and test_runtime_systemd.py stop
# and restart the test's own PostgreSQL under the bot and check what the bot sees of it (its
# connections dying and healing, /healthz, metrics, the watchdog); behind PgBouncer the bot
# would see PgBouncer, which stays up. Tests with servers of their own (the demo, backup and
# restore) run as always: the switch routes the session's server only.
test-pgbouncer: $(STAMP)
	$(PY) tools/servers.py && FITCLUB_TEST_PGBOUNCER=1 $(PY) -m pytest tests/e2e \
		--ignore=tests/e2e/test_runtime_database.py --ignore=tests/e2e/test_runtime_systemd.py

lint: $(STAMP) ; $(PY) -m ruff check .

bench: $(STAMP) ; $(PY) -m bench

tgemu: $(STAMP) ; PYTHONPATH=src $(PY) -m tgemu --port 8081

screenshots: $(STAMP) ; $(PY) docs/screenshots/take.py

clean: ; rm -rf $(VENV) .pytest_cache .ruff_cache

# Two commands for a newcomer: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench venv tgemu clean screenshots

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt && touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) ; $(PY) bot.py demo

test: $(STAMP) ; $(PY) -m ruff check . && $(PY) tools/browser.py && $(PY) -m pytest

lint: $(STAMP) ; $(PY) -m ruff check .

bench: $(STAMP) ; $(PY) -m bench

tgemu: $(STAMP) ; PYTHONPATH=src $(PY) -m tgemu --port 8081

screenshots: $(STAMP) ; $(PY) docs/screenshots/take.py

clean: ; rm -rf $(VENV) .pytest_cache .ruff_cache

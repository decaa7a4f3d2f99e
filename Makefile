# Frontline: `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint typecheck pytest test-setup openapi bench bench-full clean

# Re-runs when pyproject.toml changes. Needs Python 3.11+ with venv (Debian: python3-venv).
$(STAMP): pyproject.toml
	@if [ ! -x $(PIP) ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	    || { echo "Frontline needs Python 3.11 or newer as '$(PYTHON)' (make PYTHON=python3.11 ...)"; exit 1; }; \
	  $(PYTHON) -m venv $(VENV) \
	    || { echo "Could not create $(VENV); on Debian/Ubuntu: apt-get install python3-venv"; exit 1; }; \
	fi
	@echo "Installing Frontline and its dependencies into $(VENV) (the first time takes a minute or two)"
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# Migrates, loads the demo desk once (see README for its accounts), then serves until Ctrl-C.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --if-empty
	@echo "Frontline at http://127.0.0.1:$(PORT)/ - sign in as tessa.morgan@northwind.example (agent)"
	@echo "or maria.gonzalez@acme.example (end user); every demo password is frontline-demo"
	$(PY) manage.py serve --port $(PORT)

# Browser tests need Debian's chromium; install it when missing and we are root.
test-setup: install
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null \
	      || echo "chromium could not be installed: browser tests will skip (fail under CI=true)"; \
	  else echo "chromium missing and not root: browser tests will skip (fail under CI=true)"; fi; \
	fi
	@# Mail intake tests start their own Dovecot (own config, free port) and use swaks as a
	@# client. Debian's packaged dovecot service is not used: it is stopped if dpkg started it.
	@if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/bin/swaks ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's dovecot-imapd and swaks for the mail intake tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd swaks) >/dev/null \
	      || echo "dovecot-imapd/swaks could not be installed: IMAP/SMTP tests will skip (fail under CI=true)"; \
	    (command -v systemctl >/dev/null && systemctl disable --now dovecot.service) >/dev/null 2>&1 || true; \
	  else echo "dovecot-imapd or swaks missing and not root: IMAP/SMTP tests will skip (fail under CI=true)"; fi; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy frontline

openapi: install
	$(PY) manage.py export_openapi --output docs/openapi.json

pytest: test-setup
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

# Benchmarks on the local PostgreSQL (127.0.0.1:5432, user postgres): see bench/RESULTS.md.
# bench: 100,000 tickets, Frontline and django-helpdesk (from PyPI, own venv) side by side.
# bench-full: 1,000,000 tickets, Frontline only. BENCH_ARGS adds options (--seconds 5, --reseed).
bench: install
	$(PY) bench/run.py --tickets 100000 --systems frontline,helpdesk $(BENCH_ARGS)

bench-full: install
	$(PY) bench/run.py --tickets 1000000 --systems frontline $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache

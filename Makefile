# The two commands: `make run` (try the bot in the console room) and `make test` (everything CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= $(if $(wildcard config.yaml),config.yaml,config.example.yaml)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: run test lint typecheck pytest bench bench-irc bench-matrix bench-etherpad bench-web servers clean

# The bot alone: enough for `make run`.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $@

# The bot with everything the tests and benchmarks need.
$(VENV)/.dev-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev,postgres,e2e]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/opsbot run -c $(CONFIG)

# Real servers the integration tests start on 127.0.0.1 (see ../shared/RECIPES.md).
DEBIAN_SERVERS := postgresql inspircd atheme-services chromium fonts-dejavu-core wrk postfix systemd
SYNAPSE := .servers/synapse
ETHERPAD := .servers/etherpad
HEISENBRIDGE := .servers/heisenbridge
servers: $(SYNAPSE)/.installed $(ETHERPAD)/.installed $(HEISENBRIDGE)/.installed
	@missing=""; for p in $(DEBIAN_SERVERS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian for the integration tests:$$missing"; \
		$(SUDO) apt-get update -qq && \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Synapse from PyPI in a venv of its own, so its pins stay away from ours.
$(SYNAPSE)/.installed:
	$(PYTHON) -m venv $(SYNAPSE)
	$(SYNAPSE)/bin/pip install --quiet --disable-pip-version-check 'matrix-synapse>=1.100'
	touch $@

# The IRC bridge the bridged-room tests put between InspIRCd and Synapse: heisenbridge from
# PyPI (matrix-appservice-irc is not on the npm registry this machine reaches).
$(HEISENBRIDGE)/.installed:
	$(PYTHON) -m venv $(HEISENBRIDGE)
	$(HEISENBRIDGE)/bin/pip install --quiet --disable-pip-version-check 'heisenbridge>=1.15,<2'
	touch $@

# Etherpad 1.8.14 from npm; its code must sit in a folder named src (../shared/RECIPES.md).
$(ETHERPAD)/.installed:
	rm -rf $(ETHERPAD) && mkdir -p $(ETHERPAD)
	cd $(ETHERPAD) && echo '{"name":"ep-test","private":true}' > package.json && \
		npm install --no-audit --no-fund --loglevel=error ep_etherpad-lite@1.8.14 && \
		mv node_modules/ep_etherpad-lite src && ln -s ../src node_modules/ep_etherpad-lite
	touch $@

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check opsbot plugins tests bench
	$(BIN)/ruff format --check opsbot plugins tests bench

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy --strict opsbot plugins

# Two workers: most of the suite waits on real servers (587 tests in 6 min 49 s here with two,
# over 9 min with one); each worker starts the session's servers of its own, on free ports.
pytest: $(VENV)/.dev-installed servers
	$(BIN)/pytest -n 2

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/meetings.py

# opsbot beside Limnoria + hcoop-meetbot and Sopel + sopel-meetbot on a real InspIRCd (~8 min;
# installs the peers from PyPI into .servers/peers, needs gcc for the TCP_NODELAY shim).
bench-irc: $(VENV)/.dev-installed servers
	$(BIN)/python bench/irc_peers.py

# The etherpad plugin on a real Etherpad: #action to pad latency, catch-up after an outage.
bench-etherpad: $(VENV)/.dev-installed servers
	$(BIN)/python bench/etherpad.py

# The web site under wrk: a minutes page and a search over 10,000 meetings (~2 min).
bench-web: $(VENV)/.dev-installed servers
	$(BIN)/python bench/web.py

# opsbot beside a bare matrix-nio echo client on a real Synapse (~4 min).
bench-matrix: $(VENV)/.dev-installed servers
	$(BIN)/python bench/matrix_roundtrip.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info

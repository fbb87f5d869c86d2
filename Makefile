# Two commands do all the set-up: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test check lint format clean system-deps container-deps image bench eval gallery inflections

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.stamp-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.stamp-run

# Local trials run in development mode (calls without a token are accepted; see the README).
run: $(VENV)/.stamp-run
	CDS_AUTH_MODE=$${CDS_AUTH_MODE:-development} CDS_LOG_LEVEL=$${CDS_LOG_LEVEL:-INFO} $(BIN)/cds-service serve

lint: $(VENV)/.stamp-test
	$(BIN)/ruff format --check cds_service tests
	$(BIN)/ruff check cds_service tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.stamp-test
	$(BIN)/ruff format cds_service tests
	$(BIN)/ruff check --fix cds_service tests

# The test FHIR server: Medplum's engine from npm, with the Node 22 it needs (also from npm).
FHIR_SERVER := tests/fhir_server
$(FHIR_SERVER)/node_modules/.installed: $(FHIR_SERVER)/package-lock.json
	cd $(FHIR_SERVER) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The scale-out tests put Debian's nginx in front of two instances; PostgreSQL runs on this machine
# kind (.ci/run starts it when it is down).
system-deps:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null)
	@command -v chromium >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# axe-core for the accessibility checks of the pages (tests/test_pages_in_a_browser.py); the browser
# is Debian's chromium, driven by Playwright (never `playwright install`: no download).
BROWSER_TESTS := tests/browser
$(BROWSER_TESTS)/node_modules/.installed: $(BROWSER_TESTS)/package-lock.json
	cd $(BROWSER_TESTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The inner loop (under a minute): lint, types, import layers, the content check, and the unit tests
# that need no server (tests marked external or slow are left to make test).
check: lint
	$(BIN)/cds-service check-content cards
	$(BIN)/pytest -q -n 2 -m "not external and not slow"

# The inflections of the content's words (cds_service/clinical/inflections.py), after editing cards/:
# tests/test_inflections.py says when it is due.
inflections: $(VENV)/.stamp-run
	$(BIN)/cds-service inflections

# The text-reading evaluation on the annotated corpus (fixtures/corpus/README.md): per concept,
# sensitivity and specificity on the development and held-out halves; fails when a target is missed.
eval: $(VENV)/.stamp-run
	$(BIN)/cds-service eval-corpus fixtures/corpus --misses heldout --strict

# The container image (Dockerfile; README "Container image"), with podman or docker, whichever is
# installed. The wheelhouse is built here, so the build itself needs no network and no compiler.
VERSION      := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE        ?= cds-milia:$(VERSION)
PYTHON_IMAGE ?= python:3.11-slim-bookworm
CONTAINER    ?= $(shell command -v podman || command -v docker)
image: $(VENV)/.stamp-run
	@test -n "$(CONTAINER)" || { echo "make image needs podman or docker" >&2; exit 1; }
	rm -rf build/wheelhouse
	$(BIN)/pip wheel --quiet --disable-pip-version-check --wheel-dir build/wheelhouse .
	$(CONTAINER) build $(if $(findstring podman,$(CONTAINER)),--format docker) \
		--build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) --build-arg VERSION=$(VERSION) --tag $(IMAGE) .

# No registry is reachable on the CI machines: make test builds the image on a stand-in base made
# with debootstrap (deploy/container/standin-base.sh), with podman and runc from Debian.
STANDIN_BASE := localhost/python-standin:3.11-bookworm
SANDBOX_PODMAN := CONTAINERS_CONF=$${CONTAINERS_CONF:-$(CURDIR)/deploy/container/containers.conf}
container-deps:
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null)
	$(SANDBOX_PODMAN) deploy/container/standin-base.sh $(STANDIN_BASE)

test: lint system-deps container-deps $(FHIR_SERVER)/node_modules/.installed $(BROWSER_TESTS)/node_modules/.installed
	$(BIN)/cds-service check-content cards
	$(MAKE) --no-print-directory eval
	# In-process tests on both cores; those that start servers, containers or a browser one at a
	# time. Coverage adds up over the two runs; the floor (pyproject.toml) applies to the total.
	$(BIN)/pytest -n 2 -m "not external" --cov --cov-report= --cov-fail-under=0
	$(SANDBOX_PODMAN) CDS_TEST_IMAGE_BASE=$(STANDIN_BASE) $(BIN)/pytest -m external --cov --cov-append --cov-report=term

$(VENV)/.stamp-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.stamp-run

# The benchmark (bench/README.md): wrk from Debian's packages, results in bench/results.md.
bench: $(VENV)/.stamp-bench
	@command -v wrk >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/profile_hook.py > /dev/null

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache *.sqlite3* $(FHIR_SERVER)/node_modules

# The reviewers' gallery: every scenario's cards as the sandbox shows them, the guidance page and the
# handouts, as a static site in build/gallery (open build/gallery/index.html).
gallery: $(VENV)/.stamp-run
	$(BIN)/cds-service gallery build/gallery

# The two commands a newcomer needs: `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PG_URI ?= postgresql://postgres@127.0.0.1:15432/cairn
# The slurm.conf of scripts/services/slurm.sh's test cluster (its SLURM_ROOT, default /tmp/ci-slurm).
SLURM_TEST_CONF ?= $(or $(SLURM_ROOT),/tmp/ci-slurm)/etc/slurm.conf

.PHONY: all setup setup-test build ui run test unit-test compat-test ui-test bench clean services-up services-down

all: build

setup:
	@./scripts/setup.sh

setup-test:
	@CAIRN_SETUP_TEST=1 CAIRN_SETUP_PY=1 ./scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: setup ui $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The web UI (docs/ui.md): npm ci from the committed lock file when it changed, then a Vite build
# when a source changed. The C++ build then compiles ui/dist into `cairn` (src/ui_bundle).
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/tsconfig.json
ui: ui/dist/index.html

ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run --silent build

# Starts the server on the embedded default: ./cairn-data (SQLite + local artifacts), 127.0.0.1:5000.
run: build
	./$(BUILD_DIR)/cairn server

services-up:
	@PG_FAST=1 ./scripts/services/postgres.sh start >/dev/null
	@./scripts/services/slurm.sh start >/dev/null

services-down:
	@./scripts/services/postgres.sh stop >/dev/null
	@./scripts/services/slurm.sh stop >/dev/null

unit-test: setup-test ui $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)
	$(MAKE) services-up
	CAIRN_TEST_POSTGRES_URI=$(PG_URI) SLURM_CONF=$(SLURM_TEST_CONF) CAIRN_REQUIRE_SLURM=1 \
	  ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

compat-test: setup-test $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)
	$(MAKE) services-up
	CAIRN_TEST_POSTGRES_URI=$(PG_URI) CAIRN_BIN=$(abspath $(BUILD_DIR))/cairn ./tests/compat/run.sh

# Browser tests: a live server per test file, Debian's Chromium via playwright-core (ui/tests/).
ui-test: setup-test ui $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cd ui && CAIRN_BIN=$(abspath $(BUILD_DIR))/cairn node --test --test-concurrency=1 tests/

# Everything: unit + contract (SQLite and PostgreSQL) + API + compatibility + browser suites.
test: unit-test compat-test ui-test

bench: setup-test build
	./bench/run.sh

clean:
	rm -rf $(BUILD_DIR)

# TextPeak Console. `make run` and `make test` install whatever is missing,
# once, then build and run. See README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

CARGO_LEPTOS_VERSION := 0.3.11
BINARYEN_VERSION := 132
# wasm-bindgen-cli must match the wasm-bindgen library in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' Cargo.lock)
CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(PATH)
# Installing the tools is a one-off: skip the 15-minute LTO link.
TOOL_BUILD_ENV := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo )apt-get
# The server's features, as cargo-leptos builds it (Cargo.toml bin-features), for
# the benchmarks and their seeding tool. Both build in the bench profile, which
# shares the release profile's dependencies, so only this crate is compiled
# again (dev-dependencies change the features of a few shared crates).
BENCH_BUILD := --locked --no-default-features --features ssr,sqlite,postgres
# cargo-leptos builds the server with components type-erased (Cargo.toml
# always-erase-components); the benchmarks' builds pass the same flag, so they
# reuse its compiled dependencies instead of building all of them again.
BENCH_RUSTFLAGS := --cfg erase_components

# What e2e, test-postgres and bench-smoke need first; `make test` empties it once
# it has built.
BUILT := build

.PHONY: run test test-postgres build e2e bench bench-smoke tools test-tools wasm-target cargo-leptos wasm-bindgen wasm-opt minifier chromium playwright wrk postgresql

## run: build the release console and serve it on http://127.0.0.1:3000 (SQLite in data/)
# The server runs directly rather than under `cargo leptos serve`, which relays
# its stdout and stderr line by line from separate pipes and so can splice the
# first-start password into the middle of a log line.
run: build
	LEPTOS_SITE_ROOT=target/site LEPTOS_ENV=PROD exec target/release/textpeak

## test: every test: unit and integration (cargo test), the browser tests in Chromium,
## both on SQLite and on a throw-away PostgreSQL, and each benchmark harness run
## briefly to prove it works
# The release bundle is built once: cargo-leptos regenerates the browser bundle
# (wasm-bindgen, then wasm-opt) on every build even when nothing changed, about
# 4 minutes each, so the steps after it are told the build is done (BUILT=).
test: tools test-tools
	cargo test --locked
	$(MAKE) --no-print-directory build
	$(MAKE) --no-print-directory e2e BUILT=
	$(MAKE) --no-print-directory test-postgres BUILT=
	$(MAKE) --no-print-directory bench-smoke BUILT=

## test-postgres: the integration and browser tests again, on a PostgreSQL cluster of their
## own (initdb into /tmp, loopback, a free port), removed afterwards even when a test fails
test-postgres: $(BUILT) playwright postgresql
	@cluster=$$(mktemp -d /tmp/textpeak-pg.XXXXXX); \
	trap 'tests/postgres.sh remove "$$cluster"' EXIT; \
	server=$$(tests/postgres.sh start "$$cluster"); \
	echo "PostgreSQL test cluster: $$server"; \
	TEXTPEAK_TEST_POSTGRES=$$server cargo test --locked --test integration; \
	E2E_DATABASE_URL=$$(tests/postgres.sh createdb "$$cluster" e2e) E2E_PG_DIR=$$cluster \
	  $(MAKE) --no-print-directory e2e

## build: the release server and browser bundle, in target/; the bundle's files are
## compressed once here (gzip and brotli beside each), not on every request
build: tools
	cargo leptos build --release --precompress --split
	node bundle/minify.mjs target/site/pkg

## e2e: Playwright against the release build, on a fresh database
e2e: $(BUILT) playwright
	cd end2end && npx playwright test

## bench: in-process verification (criterion), the API under load on SQLite and PostgreSQL,
## the API Keys table at 100 and 100,000 keys (wrk), the Overview and the Audit Log's
## filters at 100 keys / 1,000 entries and 100,000 / 1,000,000, how fast a change reaches another
## instance, the browser bundle and Lighthouse (npm, benches/lighthouse); see BENCHMARKS.md
bench: build wrk postgresql
	RUSTFLAGS='$(BENCH_RUSTFLAGS)' cargo bench $(BENCH_BUILD) --bench verify
	python3 benches/ratio.py
	RUSTFLAGS='$(BENCH_RUSTFLAGS)' cargo build $(BENCH_BUILD) --profile bench --example seed_keys
	python3 benches/load.py --refused 150
	python3 benches/load.py --database postgres --rotate 10000
	python3 benches/unknown.py
	python3 benches/scopes.py
	python3 benches/metrics.py
	python3 benches/export.py
	python3 benches/table.py
	python3 benches/overview.py
	python3 benches/instances.py
	python3 benches/bundle.py
	python3 benches/lighthouse.py

bench-smoke: $(BUILT) wrk postgresql
	RUSTFLAGS='$(BENCH_RUSTFLAGS)' cargo bench $(BENCH_BUILD) --bench verify -- --test
	RUSTFLAGS='$(BENCH_RUSTFLAGS)' cargo build $(BENCH_BUILD) --profile bench --example seed_keys
	python3 benches/load.py --quick --refused 10
	python3 benches/load.py --quick --database postgres --rotate 500
	python3 benches/unknown.py --quick
	python3 benches/scopes.py --quick
	python3 benches/metrics.py --quick
	python3 benches/export.py --quick
	python3 benches/table.py --quick
	python3 benches/overview.py --quick
	python3 benches/instances.py --quick
	python3 benches/lighthouse.py --accessibility

tools: wasm-target cargo-leptos wasm-bindgen wasm-opt minifier
test-tools: chromium playwright wrk postgresql

wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# cargo-leptos 0.3.11's lock pins a crate that needs a newer rustc, and its
# default build downloads tools at run time: build it from its own source with
# that one crate stepped back and downloads switched off (no_downloads).
cargo-leptos:
	@if [ "$$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $(CARGO_LEPTOS_VERSION)" ]; then \
	  echo "Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 20 minutes, once)"; \
	  cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --features no_downloads >/dev/null 2>&1 || true; \
	  if [ "$$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $(CARGO_LEPTOS_VERSION)" ]; then \
	    src=$$(ls -d $(CARGO_HOME)/registry/src/*/cargo-leptos-$(CARGO_LEPTOS_VERSION) | head -n1); \
	    work=$$(mktemp -d); cp -r "$$src" "$$work/"; cd "$$work/cargo-leptos-$(CARGO_LEPTOS_VERSION)"; \
	    cargo update -p cargo-util-schemas --precise 0.14.1; \
	    $(TOOL_BUILD_ENV) cargo install --path . --locked --features no_downloads; \
	    rm -rf "$$work"; \
	  fi; \
	fi

# Same story: its lock pins a webpki-roots release the registry does not carry.
wasm-bindgen:
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (a few minutes, once)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --locked >/dev/null 2>&1 || true; \
	  if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	    src=$$(ls -d $(CARGO_HOME)/registry/src/*/wasm-bindgen-cli-$(WASM_BINDGEN_VERSION) | head -n1); \
	    work=$$(mktemp -d); cp -r "$$src" "$$work/"; cd "$$work/wasm-bindgen-cli-$(WASM_BINDGEN_VERSION)"; \
	    cargo update -p webpki-roots --precise 1.0.10; \
	    $(TOOL_BUILD_ENV) cargo install --path . --locked; \
	    rm -rf "$$work"; \
	  fi; \
	fi

# Debian's binaryen (108) builds a bundle that never hydrates; npm carries 132.
wasm-opt:
	@wasm-opt --version 2>/dev/null | grep -q "version $(BINARYEN_VERSION)" || npm install -g binaryen@$(BINARYEN_VERSION).0.0

# Playwright cannot download its browser here: use Debian's Chromium.
chromium:
	@command -v chromium >/dev/null || { $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq chromium; }

wrk:
	@command -v wrk >/dev/null || { $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq wrk; }

# The tests' and benchmarks' own throw-away clusters (tests/postgres.sh) need only the server binaries.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq postgresql; }

# Terser, from bundle/'s lock file: minifies the bundle's JavaScript after each build.
minifier:
	@[ -d bundle/node_modules/terser ] || (cd bundle && npm ci --no-audit --no-fund)

playwright:
	@[ -x end2end/node_modules/.bin/playwright ] || (cd end2end && npm ci --no-audit --no-fund)

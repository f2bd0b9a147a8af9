# Every target is a thin call; README.md documents each one (its Make targets table).
SHELL := /bin/bash
VENV := .venv
VENV_STAMP := $(VENV)/.installed-$(shell sha1sum requirements-dev.txt | cut -c1-12)
# dynalite (npm), the second DynamoDB engine, from its lock file into tools/dynalite/node_modules.
DYNALITE_STAMP := tools/dynalite/node_modules/.installed-$(shell sha1sum tools/dynalite/package-lock.json | cut -c1-12)
# Ajv (npm), the outside validator of the published schemas and the corpus, into conformance/check/node_modules.
CONFORMANCE_STAMP := conformance/check/node_modules/.installed-$(shell sha1sum conformance/check/package-lock.json | cut -c1-12)
# The npm package for the order service (TypeScript, the AWS SDK for JavaScript), into clients/node/node_modules.
CLIENT_STAMP := clients/node/node_modules/.installed-$(shell sha1sum clients/node/package-lock.json | cut -c1-12)
# The tests that use neither transactions nor streams run on dynalite too (testkit::Engine):
# these modules of the integration test binaries (the same binaries: nothing is rebuilt).
DYNALITE_TESTS := event_store:: load:: repository:: snapshot_store:: properties:: parsers:: contract:: \
	maintenance:: events:: admin:: jobs:: fuzz:: spec_agreement:: rebuild:: maintenance_safety:: \
	--skip openapi_contract::
PYTHON ?= python3
# The venv's tools (sam, cfn-lint, cargo-lambda and its zig) come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SAM_CLI_TELEMETRY := 0
FUNCTIONS := snapshot-stream snapshot-maintenance snapshot-admin

.PHONY: help run test soak lint fmt schemas conformance venv build sam-build deploy preflight invoke invoke-all seed-local bench capacity clean

help: ## list targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) $(DYNALITE_STAMP) $(CONFORMANCE_STAMP) $(CLIENT_STAMP) ## install moto, cfn-lint, aws-sam-cli, cargo-lambda, openapi-spec-validator and schemathesis into ./.venv, dynalite into tools/dynalite, Ajv into conformance/check, the npm package's tools into clients/node

$(VENV_STAMP): requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# --ignore-scripts: dynalite runs in memory here; LevelDB's native build is not needed
$(DYNALITE_STAMP): tools/dynalite/package-lock.json
	cd tools/dynalite && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(CONFORMANCE_STAMP): conformance/check/package-lock.json
	cd conformance/check && npm ci --no-audit --no-fund
	touch $@

$(CLIENT_STAMP): clients/node/package-lock.json
	cd clients/node && npm ci --no-audit --no-fund
	touch $@

run: venv ## run the system locally: DynamoDB server, stream runner, admin API, demo (Ctrl-C stops)
	cargo run --quiet -p local --bin local-stack

# The npm package's tests start tools/local's local-peer (the Rust side of its cross-language
# tests), which the cargo test run builds.
test: lint ## every test: fmt, clippy, template linters, unit, storage (moto, then dynalite), properties, the corpus in Node, the npm package
	cargo test --workspace --all-targets
	DYNAMO_ENGINE=dynalite cargo test --workspace --test it -- $(DYNALITE_TESTS)
	node --test conformance/check/
	cd clients/node && npm test

soak: venv ## long load run with faults and a full audit, ~8 min (SOAK_ARGS="--orders 300 --events 30000")
	cargo run --quiet -p local --bin soak -- $(SOAK_ARGS)

lint: venv ## cargo fmt --check, clippy -D warnings, cfn-lint, sam validate --lint, the OpenAPI file validated
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 sam validate --lint
	openapi-spec-validator functions/snapshot-admin/openapi.yaml

fmt: ## format the code
	cargo fmt --all

schemas: ## regenerate the published event contract in schemas/ from the Rust types
	UPDATE_SCHEMAS=1 cargo test --quiet -p shared --test it contract::the_committed_schemas

conformance: ## regenerate the conformance corpus (conformance/fold/, conformance/load/) from the Rust cases, fold and checks
	UPDATE_CONFORMANCE=1 cargo test --quiet -p shared --test it -- --exact \
		conformance::the_committed_fold_cases_are_what_the_code_makes_of_them \
		conformance_load::the_committed_load_cases_are_what_the_code_makes_of_them
	@echo "review the diff; a changed expected output changes the fold fingerprint (shared/src/domain/fold.fingerprint)"

build: venv ## release arm64 bootstraps of the three functions (cargo lambda)
	cargo lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))
	@ls -l $(addprefix $(or $(CARGO_TARGET_DIR),target)/lambda/,$(addsuffix /bootstrap,$(FUNCTIONS)))

sam-build: venv ## sam build --beta-features (cargo lambda, no Docker) into .aws-sam/
	sam build --beta-features

# Attaching (STREAM_ARN given) runs the preflight first and deploys with the parameters it checked.
ATTACH_OVERRIDES = $(if $(STREAM_ARN),--parameter-overrides ExistingEventsStreamArn=$(STREAM_ARN) $(if $(KEY_ARN),ExistingEventsTableKeyArn=$(KEY_ARN)))

deploy: sam-build ## sam deploy (guided the first time, until a region is saved in samconfig.toml); attach: make deploy EVENTS_TABLE=… STREAM_ARN=… [KEY_ARN=…] runs make preflight first
	@if [ -n "$(STREAM_ARN)" ]; then $(MAKE) --no-print-directory preflight; fi
	@if grep -q '^region' samconfig.toml; then sam deploy $(ATTACH_OVERRIDES); else sam deploy --guided $(ATTACH_OVERRIDES); fi

preflight: venv ## check the order service's event table before attaching: make preflight EVENTS_TABLE=… [REGION=…] [STREAM_ARN=…] [ENDPOINT=…] (make run's: ENDPOINT=http://127.0.0.1:8000 EVENTS_TABLE=order_events)
	@test -n "$(EVENTS_TABLE)" || { echo "usage: make preflight EVENTS_TABLE=<table> [REGION=<region>] [STREAM_ARN=<arn>] [ENDPOINT=<url>]"; exit 2; }
	cargo run --quiet -p local --bin preflight -- --table $(EVENTS_TABLE) $(if $(REGION),--region $(REGION)) $(if $(STREAM_ARN),--stream-arn $(STREAM_ARN)) $(if $(ENDPOINT),--endpoint $(ENDPOINT))

invoke: venv ## run FN on EVENT under AWS's emulator with the template's environment: make invoke FN=snapshot-stream EVENT=events/snapshot-stream/insert-batch.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<file>"; exit 2; }
	cargo build --quiet -p $(FN)
	cargo run --quiet -p local --bin local-invoke -- $(FN) $(EVENT)

seed-local: ## seed a running local server (make run's, ENDPOINT=http://127.0.0.1:8000) with the samples' data, for sam local invoke
	cargo run --quiet -p local --bin local-invoke -- --seed $(or $(ENDPOINT),http://127.0.0.1:8000)

invoke-all: venv ## every sample event through its function under AWS's emulator, each answer checked (events/*/expected.json)
	cargo build --quiet $(addprefix -p ,$(FUNCTIONS))
	cargo run --quiet -p local --bin local-invoke -- --all

bench: build ## benchmarks on dynalite and moto: load cost vs history, the npm package's load, stream throughput, binaries, logs (prints tables; writes tools/capacity/inputs.json)
	cargo build --release --quiet -p bench $(addprefix -p ,$(FUNCTIONS))
	cd clients/node && npm run build
	cargo run --release --quiet -p bench -- $(BENCH_ARGS)

capacity: venv ## the month's cost and the limits that bind per traffic tier, from make bench's figures (tools/capacity/inputs.json) and a simulation of the stream
	cargo run --release --quiet -p capacity

clean: ## remove build output and the venv
	cargo clean
	rm -rf $(VENV) .aws-sam .local

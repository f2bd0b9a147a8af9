# Every target is a thin call; README.md documents each one.
SHELL := /bin/bash
VENV := .venv
VENV_STAMP := $(VENV)/.installed-$(shell sha1sum requirements-dev.txt | cut -c1-12)
PYTHON ?= python3

.PHONY: help run test lint fmt venv clean

help: ## list targets
	@grep -E '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) ## install moto (and the template linters) into ./.venv

$(VENV_STAMP): requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: venv ## run the system locally: DynamoDB server + tables (Ctrl-C stops)
	cargo run --quiet -p local --bin local-stack

test: lint ## every test: fmt, clippy, unit, storage (against moto), properties
	cargo test --workspace --all-targets

lint: venv ## cargo fmt --check, clippy -D warnings, cfn-lint on template.yaml
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint template.yaml

fmt: ## format the code
	cargo fmt --all

clean: ## remove build output and the venv
	cargo clean
	rm -rf $(VENV)

# rollgate — the project's one task runner. `make` (or `make help`) lists the targets.
# Recipes stay one or two lines; longer logic lives in Python under src/rollgate/.

.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/lock.txt pyproject.toml | cksum | cut -d' ' -f1)
RUN := $(BIN)/rollgate
export PATH := $(abspath $(BIN)):$(PATH)

## help: list the targets
.PHONY: help
help:
	@sed -n -E 's/^## ([a-z0-9-]+): (.*)/  \1\t\2/p' $(MAKEFILE_LIST) | expand -t 16

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements/lock.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . && rm -f $(VENV)/.installed-* && touch $@

## install: create .venv and install the pinned dependencies (hash-checked) and rollgate itself
.PHONY: install
install: $(STAMP)

## github-path: on a GitHub runner (GITHUB_PATH set), put .venv/bin first on PATH for the job's later steps
.PHONY: github-path
github-path:
	@if [ -n "$${GITHUB_PATH:-}" ]; then echo "$(abspath $(BIN))" >> "$$GITHUB_PATH"; fi

## demo: run the main job on the embedded defaults (local DVC remote, sqlite MLflow) and say what happened
.PHONY: demo
demo: install
	$(RUN) demo

## demo-monitor: after `make demo`, the monitor on the example's next 6 weeks shifted by SHIFT (default amount_inflation; none, online_surge, fraud_wave), labels arriving late, against the model's baseline; report in .demo/monitor/report/
.PHONY: demo-monitor
demo-monitor: install
	$(RUN) demo --monitor "$${SHIFT:-amount_inflation}" || test $$? -eq 1

## monitor-collect: ADOPT (your log export goes here): ENV's window into build/monitor/ (docs/workflows.md); the example: the WEEKS (6) weeks after data/ shifted by SHIFT (none), ROWS rows a week, scored by ENV's deployed model and logged as the server logs
.PHONY: monitor-collect
monitor-collect: install
	$(RUN) monitor collect --env "$${ENV:-prod}" --shift "$${SHIFT:-none}" $${WEEKS:+--weeks "$$WEEKS"} $${ROWS:+--rows-per-week "$$ROWS"}

## monitor-judge: the monitor on ENV's collected window, and its deployed model against the previous known-good one on the matured rows (build/monitor/)
.PHONY: monitor-judge
monitor-judge: install
	$(RUN) monitor judge --env "$${ENV:-prod}"

## monitor-pr: open or update the retraining or revert pull request the judged evidence calls for (App token: GITHUB_TOKEN; suppressions: configs/monitor/suppressions.yaml; RUN_URL=the run's page)
.PHONY: monitor-pr
monitor-pr: install
	$(RUN) monitor pr --env "$${ENV:-prod}" $${RUN_URL:+--run-url "$$RUN_URL"}

## test-deps: as root, install the system tools the suites and benchmarks need (Debian packages: wrk, nginx, promtool, …)
.PHONY: test-deps
test-deps:
	.ci/test-deps.sh

## test: lint, types, import rules and the whole test suite but e2e, on both cores (what CI runs)
.PHONY: test
test: lint lint-workflows types imports
	ROLLGATE_REQUIRE_SCHEMAS=1 $(BIN)/pytest -q -m "not e2e"

## test-e2e: the end-to-end tests (marker e2e; what CI runs after `make test`); none collected is a pass
.PHONY: test-e2e
test-e2e: install
	ROLLGATE_REQUIRE_SCHEMAS=1 $(BIN)/pytest -q -m e2e || [ $$? -eq 5 ]

## test-fast: the quick subset (no integration tests) for local work
.PHONY: test-fast
test-fast: install
	$(BIN)/pytest -q -m "not integration and not e2e" -x

## lint: ruff over src/, benchmarks/ and tests/
.PHONY: lint
lint: install
	$(BIN)/ruff check src benchmarks tests && $(BIN)/ruff format --check src benchmarks tests

## lint-workflows: zizmor (offline, medium severity and up) and GitHub's JSON Schemas over the workflows, composite actions and dependabot.yml
GH_WORKFLOWS = $(wildcard .github/workflows/*.yml)
GH_ACTIONS = $(wildcard .github/actions/*/action.yml)
.PHONY: lint-workflows
lint-workflows: install
	$(BIN)/zizmor --offline --min-severity medium --strict-collection --no-progress .github
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(GH_WORKFLOWS) $(if $(GH_ACTIONS),&& $(BIN)/check-jsonschema --builtin-schema vendor.github-actions $(GH_ACTIONS))
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

## format: apply ruff's fixes and formatting
.PHONY: format
format: install
	$(BIN)/ruff check --fix src benchmarks tests && $(BIN)/ruff format src benchmarks tests

## types: mypy (strict) on src/ and benchmarks/
.PHONY: types
types: install
	$(BIN)/mypy

## imports: the layering rules of pyproject.toml's [tool.importlinter]
.PHONY: imports
imports: install
	$(BIN)/lint-imports --no-cache

## data: regenerate the example data under data/ (then `dvc add data` if it changed)
.PHONY: data
data: install
	$(RUN) data generate

## repro: pull, then reproduce the DVC pipeline here; a refusal says what to do (never re-commits data.dvc; `dvc add data` records new data)
.PHONY: repro
repro: install
	$(RUN) repro

## validate: the validate stage alone, through DVC (skipped when its inputs are unchanged)
## prepare: the prepare stage alone, through DVC
## train: the train stage alone, through DVC
## evaluate: the evaluate stage alone, through DVC
## gate: the gate stage alone, through DVC (the gate always judges afresh: no run cache)
STAGES := validate prepare train evaluate gate
.PHONY: $(STAGES)
$(STAGES): install
	$(BIN)/dvc repro --single-item $@

## bench-gate: the gate's false promotion and power on your holdout and model, and which min_effect and holdout size meet the goals (after `make repro`; ~7 min)
.PHONY: bench-gate
bench-gate: install
	$(BIN)/python -m benchmarks.gate.simulate --seeds $${SEEDS:-1000} --cell-seeds $${CELL_SEEDS:-100}

## bench-batch: `rollgate batch score` against an in-process predict_proba loop over the same example files, and its peak RSS (ARGS="--files N --rows R")
.PHONY: bench-batch
bench-batch: install
	$(BIN)/python -m benchmarks.batch.bench $(ARGS)

## bench-monitor: the monitor's false retrain and revert alarms per year on simulated drift-free weeks and its delay on each shift, at full traffic and a 1 % log (ARGS="--seeds N --shift-seeds N --rows R"; ~8 min)
.PHONY: bench-monitor
bench-monitor: install
	$(BIN)/python -m benchmarks.monitor.bench $(ARGS)

## bench-canary: the rendered canary analysis on simulated good, dead, shifted, slow and erroring canaries: false aborts and detection per step (ENV=prod, SEEDS=1000, TRAFFIC=1)
.PHONY: bench-canary
bench-canary: install
	$(BIN)/python -m benchmarks.canary.simulate --env $(or $(ENV),prod) --seeds $${SEEDS:-1000} --traffic $${TRAFFIC:-1}

## rehearse: shadow -> canary -> full on this machine (nginx, Prometheus from Debian: `make rehearse-deps`), the challenger in models/ against ENV's champion, judged by the rendered analysis; exit 0 promote, 3 abort, 4 inconclusive (ENV=staging, ARGS=...)
.PHONY: rehearse
rehearse: install
	$(RUN) rehearse --env $(or $(ENV),staging) $(ARGS)

## rehearse-deps: as root, install what the rehearsal needs beyond Python (Debian's nginx and prometheus)
.PHONY: rehearse-deps
rehearse-deps:
	.ci/test-deps.sh nginx prometheus

## serve: serve the trained model (models/, else `make demo`'s) on 127.0.0.1:8080, admin (metrics, model info) on 8081 (digest and contract from its model.json)
.PHONY: serve
serve: install
	$(RUN) serve --trained

## bench-serve: our model server against `mlflow models serve` and MLServer on the trained model, driven by wrk (`make test-deps`; ROLLGATE_SRC=checkout serves another rollgate; AUTH=1 adds API keys on vs off, AUTH=only measures just that pair; BINS=1 and BINS=only the same for the feature bin counters)
.PHONY: bench-serve
bench-serve: install
	$(BIN)/python -m benchmarks.serve.bench $(if $(ROLLGATE_SRC),--rollgate-src $(ROLLGATE_SRC)) $(if $(AUTH),$(if $(filter only,$(AUTH)),--auth-only,--api-keys)) $(if $(BINS),$(if $(filter only,$(BINS)),--bins-only,--bins))

## ui: open the MLflow UI on the tracking store (MLFLOW_TRACKING_URI, default sqlite:///mlflow.db)
.PHONY: ui
ui: install
	$(BIN)/mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}" --host 127.0.0.1 --port 5000

## lock: re-resolve requirements/lock.txt from pyproject.toml (with hashes)
.PHONY: lock
lock: install
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --extra pipeline --extra delivery --extra rehearse --extra serve --extra dev -o requirements/lock.txt pyproject.toml

## requirements: cut requirements/{serve,pipeline,build}.txt (hashed, what the images install) from the lock (after `make lock`)
.PHONY: requirements
requirements: install
	$(BIN)/python -m rollgate.ci.lockset

## image-context: the images' wheelhouse .wheelhouse/ (pip download of requirements/*.txt, hash-checked, cached); BASE_IMAGE defined (CI): refused, even empty, unless pinned by digest
.PHONY: image-context
image-context: install
	$(BIN)/python -m rollgate.ci.buildah context $(if $(filter-out undefined,$(origin BASE_IMAGE)),--base "$$BASE_IMAGE")

## image: build the image TARGET (serve, or pipeline) here with buildah, FROM a local Debian bookworm (mmdebstrap); base and wheels cached under ~/.cache/rollgate/
.PHONY: image
image: install
	$(BIN)/python -m rollgate.ci.buildah build --target $(or $(TARGET),serve)

## schemas: check the CRDs of schemas.lock against their sha256 (downloaded, or CRDS=dir), convert them into .schemas/
.PHONY: schemas
schemas: install
	$(BIN)/python -m rollgate.manifests.crds --out .schemas $(if $(CRDS),--from $(CRDS)) $(if $(TRUST_NEW),--trust-new)

## manifests: re-render manifests/argocd/ and check every committed manifest (schemas: .schemas/ or SCHEMAS=dir)
.PHONY: manifests
manifests: install
	$(RUN) render --argocd >/dev/null && $(RUN) check-manifests $(if $(SCHEMAS),--schemas $(SCHEMAS))

## manifests-preview: what merging would render for each environment, into a temporary directory, strictly validated (a PR's check; SCHEMAS=dir skips the download)
.PHONY: manifests-preview
manifests-preview: install $(if $(SCHEMAS),,schemas)
	$(RUN) check-manifests --preview $(if $(SCHEMAS),--schemas $(SCHEMAS))

## pr-comment: post reports/pr.md (with the rehearsal's section when REHEARSAL, its job's result, is set) as pull request NUMBER's one sticky comment (GITHUB_TOKEN, GITHUB_REPOSITORY); from source, standard library only: nothing installed
.PHONY: pr-comment
pr-comment:
	PYTHONPATH=src $(PYTHON) -S -m rollgate.report.rehearsal --report $(or $(FILE),reports/pr.md) --result "$${REHEARSAL:-}" --charts-url "$${REHEARSAL_URL:-}" --out reports/pr-comment.md
	PYTHONPATH=src $(PYTHON) -S -m rollgate pr comment --number "$$NUMBER" --file reports/pr-comment.md

## pr-summary: the PR workflow's required check over NEEDS (toJSON(needs)), FORK=true for a fork's PR; from source, standard library only
.PHONY: pr-summary
pr-summary:
	PYTHONPATH=src $(PYTHON) -S -m rollgate pr summary --fork "$${FORK:-false}"

## promotion-land: the promotion workflow's privileged step: land ENV's staged promotion (STAGED) into the checkout WORK, judged by this rollgate and BASE's gate policy (APPROVED=true after a reviewer's approval, WAIT=seconds for a rollout in progress)
.PHONY: promotion-land
promotion-land: install $(if $(SCHEMAS),,schemas)
	$(RUN) --root $(or $(WORK),work) promotion land --env "$$ENV" --staged "$(abspath $(or $(STAGED),promotion))" --base "$$BASE" --schemas "$(abspath $(or $(SCHEMAS),.schemas))" $${APPROVED:+--approved} $${WAIT:+--wait-settled "$$WAIT"}

## adopt: first deployment of your own model: every environment back to "no model yet" (docs/adopting.md)
.PHONY: adopt
adopt: install
	$(RUN) adopt $(if $(DROP_EXAMPLE),--drop-example-data)

## promote: pin the gated model in manifests/ENV/ with one pushed commit (ENV=prod by default)
.PHONY: promote
promote: install
	$(RUN) promote --env "$${ENV:-prod}"

## rollback: git revert of ENV's latest promotion commit, pushed (TO=commit for an older one)
.PHONY: rollback
rollback: install
	$(RUN) rollback --env "$${ENV:-prod}" $${TO:+--to "$$TO"}

## check-changes: every commit in BASE..HEAD that changed manifests/<env>/, classified; fails on a forbidden one (BASE=origin/main; PR=1 in a pull request)
.PHONY: check-changes
check-changes: install
	$(RUN) check-changes --base $(or $(BASE),origin/main) $(if $(PR),--pull-request)

## clean: remove the virtualenv, caches and the demo workspace (never data, models or git state)
.PHONY: clean
clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache

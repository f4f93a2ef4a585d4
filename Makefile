# Two commands for a newcomer: `make run` (web chat on the sample corpus) and `make test`.
.PHONY: setup setup-dev setup-test run sync test test-fast lint eval eval-dev bench docs clean

VPY := .venv/bin/python

setup:
	@bash scripts/setup.sh

setup-dev: setup
	@bash scripts/setup-dev.sh

setup-test: setup-dev
	@bash scripts/setup-test.sh

sync: setup
	$(VPY) -m index sync

run: setup
	$(VPY) -m index sync || test $$? -eq 1
	$(VPY) app.py

lint: setup-dev
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VPY) -m mypy

test: setup-test lint
	bash scripts/test.sh

test-fast: setup-dev
	$(VPY) -m pytest -q tests/unit

eval-dev: setup
	$(VPY) -m assistant eval --questions ../shared/eval/dev.jsonl --out eval-results/dev

bench: setup-dev
	$(VPY) bench/bench_index.py
	$(VPY) bench/bench_retrieval.py
	$(VPY) bench/bench_answer.py

docs: setup-dev
	NO_MKDOCS_2_WARNING=1 $(VPY) -m mkdocs serve

clean:
	rm -rf data eval-results test-artifacts .pytest_cache .mypy_cache .ruff_cache

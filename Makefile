.PHONY: run test bench lint format

run:  ## set up and run the server on embedded SQLite
	scripts/run.sh

test:  ## set up everything and run the whole test suite
	scripts/test.sh

bench:  ## the benchmark against a bare aiohttp server (a few minutes)
	scripts/setup.sh
	.venv/bin/python -m bench

lint:
	.venv/bin/ruff check zenml_server cli tests bench
	.venv/bin/ruff format --check zenml_server cli tests bench
	.venv/bin/mypy

format:
	.venv/bin/ruff check --fix zenml_server cli tests bench
	.venv/bin/ruff format zenml_server cli tests bench

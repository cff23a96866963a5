# The two commands: `make demo` (set up, then run the demo room) and `make test` (set up, then run
# every test). `make bench` prints the figures.
.PHONY: demo test bench setup-demo setup-test

demo: setup-demo
	.venv/bin/fieldcast demo

test: setup-test
	.venv/bin/python -m pytest -q

bench: setup-test
	.venv/bin/python -m bench

setup-demo:
	scripts/setup.sh demo

setup-test:
	scripts/setup.sh test

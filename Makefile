VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install demo test bench clean board wheelhouse image compose-lock compose-test

install: $(STAMP)

# Re-run the install only when the package metadata changes; torch goes first so pip never pulls a CUDA build.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

demo: install
	cd example/grid_search && ../../$(PY) run.py train --gs_config_path gs_config.yml --run_config_path run_config.yml

test: install
	$(PY) -m pytest -q --durations=20 tests

board: install
	$(VENV)/bin/ml_board --host 127.0.0.1 --port 5001 --event_storage_path event_storage

# The container image (Dockerfile, docker-compose.yml): pinned wheels built here, installed there without an index.
wheelhouse: install
	PIP=$(PIP) deploy/wheelhouse.sh

image: wheelhouse
	$(or $(shell command -v podman),docker) build -t localhost/mlgym:latest .

compose-lock: install
	PIP=$(PIP) deploy/lock.sh

# Build the image on a debootstrapped base, run the compose stack with podman, check it, tear it down.
compose-test: install
	PIP=$(PIP) deploy/compose_test.sh

bench: install
	$(PY) bench/overhead.py
	$(PY) bench/throughput.py
	$(PY) bench/scheduler.py
	$(PY) bench/ingest.py
	$(PY) bench/checkpoint.py
	$(PY) bench/dashboard.py
	$(PIP) install -q -e '.[bench]'
	$(PY) bench/ray_cluster.py

clean:
	rm -rf $(VENV) event_storage build *.egg-info src/*.egg-info  # build/wheels: the wheelhouse

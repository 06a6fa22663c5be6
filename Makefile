# swaplab: every target sets up .venv on first use, so a fresh clone needs only
#   make reproduce   (figures and report from the shipped data; no QEMU)
#   make test        (the test suite; installs QEMU and fetches a Debian kernel when root)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SWAPLAB := $(VENV)/bin/swaplab
STAMP := $(VENV)/.installed
# System packages for the QEMU guest, kernel builds and the guest's static C programs.
SYSDEPS := qemu-system-x86 qemu-utils busybox-static kmod xz-utils zstd cpio gcc libc6-dev \
           make bc flex bison libelf-dev libssl-dev ccache dwarves rsync
SYSDEP_CMDS := qemu-system-x86_64 busybox depmod xz zstd cpio gcc bc flex bison ccache

.PHONY: venv sysdeps test test-fast reproduce traces lab bench lint clean kernel-cache

venv: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name swaplab --display-name "swaplab (.venv)" >/dev/null
	@touch $@

# Install the system packages the kernel tests need (only as root, only what is missing).
sysdeps:
	@missing=""; for c in $(SYSDEP_CMDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	test -f /usr/include/libelf.h || missing="$$missing libelf"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "sysdeps: installing (missing:$$missing)"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSDEPS) >/dev/null; \
	  else echo "sysdeps: missing$$missing; QEMU/kernel tests will SKIP (run as root to install)"; fi; \
	fi

test: venv sysdeps
	$(VENV)/bin/ruff check analysis tests bench
	$(VENV)/bin/pytest -q -ra --timeout=900

test-fast: venv
	$(VENV)/bin/pytest -q -ra -m "not qemu and not kbuild and not slow"

reproduce: venv
	$(SWAPLAB) reproduce $(if $(QUICK),--quick,)

traces: venv sysdeps
	$(SWAPLAB) capture --standard-set --repeats 3 -o data/traces

lab: venv
	$(VENV)/bin/jupyter lab notebooks/

bench: venv
	$(SWAPLAB) bench $(if $(QUICK),--quick,)

lint: venv
	$(VENV)/bin/ruff check analysis tests bench

clean:
	rm -rf results .pytest_cache

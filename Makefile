# Two commands on a fresh machine:  make demo  |  make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PRESET ?= workflow/presets/quick.yaml
CORES  ?= all
STAMP  := $(VENV)/.installed
# the only rules `make figures` may run: it redraws from saved results, even after a config change
REPORT_RULES := aggregate table paper_table claims figure images_error_figure anomaly_figures figures

.PHONY: setup setup-locked lock lint demo test figures report record docs bench gpu-check estimate dry-run clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,cluster]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install the project with its test and cluster extras

setup-locked:  ## like setup, with the exact versions of requirements.lock (Linux x86_64, Python 3.11)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

lock: setup  ## rewrite requirements.lock: the project's dependencies at the versions installed in .venv
	$(BIN)/python -m uv --version >/dev/null 2>&1 || $(BIN)/pip install --quiet uv
	$(BIN)/pip freeze --exclude-editable | grep -v '^dpbench' > $(VENV)/freeze.txt
	$(BIN)/python -m uv pip compile pyproject.toml --extra test --extra cluster --constraint $(VENV)/freeze.txt \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --annotation-style line \
		--custom-compile-command "make lock" --output-file requirements.lock
	sed -i "s/^# lock: sha256 .*/# lock: sha256 $$(sha256sum requirements.lock | cut -d' ' -f1)/" workflow/envs/dpbench.yaml

lint: setup  ## ruff and snakefmt (snakemake --lint still reports what the Snakefile's first comment explains)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/

demo: setup  ## run the quick preset end to end (offline, CPU) and write the HTML report
	$(BIN)/snakemake --cores $(CORES) --configfile $(PRESET)
	$(BIN)/snakemake --cores 1 --configfile $(PRESET) --report results/report.html
	@echo "summary: results/summary.csv  tables: results/tables/  figures: results/figures/  report: results/report.html"

test: setup  ## install, then run the test suite
	$(BIN)/python -m pytest

figures: setup  ## rebuild every table and figure from saved results only (no training)
	$(BIN)/snakemake figures --cores 1 --configfile $(PRESET) --allowed-rules $(REPORT_RULES)

report: setup
	$(BIN)/snakemake --cores 1 --configfile $(PRESET) --report results/report.html

# a run record (docs/runs/NAME): run the preset to the end (or as far as it gets: the missing jobs are listed), timed,
# then keep its summary and provenance. From a fresh clone, so that the record names a commit that holds its code.
NAME ?= $(basename $(notdir $(lastword $(PRESET))))
record: setup  ## run PRESET and record it as docs/runs/NAME (make record PRESET=workflow/presets/mnist_tell.yaml)
	@start=$$(date +%s); $(BIN)/snakemake --cores $(CORES) --configfile $(PRESET) --keep-going || true; \
	end=$$(date +%s); $(BIN)/python -m dpbench record $(NAME) --configfile $(PRESET) --wall-seconds $$((end - start)) \
		--command "snakemake --cores $(CORES) --configfile $(PRESET) --keep-going"

docs: setup  ## regenerate docs/results.md, its figures, the README's headline table and docs/configuration.md
	$(BIN)/python -m dpbench results-doc
	$(BIN)/python -m dpbench config-doc

bench: setup  ## speed benchmark of the sparse models (+ scikit-learn's SparseCoder) and of TELL's epochs on this machine
	$(BIN)/python -m dpbench.bench --preset
	PYTHONPATH=src $(BIN)/python benchmarks/tell_speed.py --threads 1 2

# the device check runs with the Python that has PyTorch there (.venv if present): it installs nothing
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
GPU_CHECK_ARGS ?=

gpu-check:  ## the prepared GPU check (< 8 min on an H200; PyTorch only, no downloads; writes to $OUT if set)
	PYTHONPATH=src $(GPU_PYTHON) -m dpbench.gpu_check $(GPU_CHECK_ARGS)

estimate: setup  ## the grid's time on one GPU from measured per-job times (results/benchmarks) and gpu-check's gain
	$(BIN)/python -m dpbench estimate --configfile $(PRESET) $(if $(wildcard results/gpu_check/gpu_check.json),--gpu-check results/gpu_check/gpu_check.json)

dry-run: setup  ## show the full reproduction's job graph
	$(BIN)/snakemake -n --cores all

clean:
	rm -rf results/summary.* results/tables results/figures results/report.html

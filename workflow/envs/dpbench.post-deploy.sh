#!/usr/bin/env bash
# Run by Snakemake inside the freshly created conda environment of dpbench.yaml, from the directory
# Snakemake was started in (the repository root): the locked versions, then the project (editable,
# so the rules run the checkout's code).
set -euo pipefail
test -f requirements.lock -a -f pyproject.toml || { echo "dpbench.post-deploy.sh: run snakemake from the repository root" >&2; exit 1; }
python -m pip install --no-input -r requirements.lock
python -m pip install --no-input --no-deps -e .

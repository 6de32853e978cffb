"""The synthetic task's grid as the config describes it: one dataset per noise level, and the
parameters of each job.

Free of PyTorch, so that the workflow (``workflow/rules/synthetic.smk``) imports it when it parses.
"""

from __future__ import annotations

from typing import Any

from dpbench.registry import options_for


def dataset_name(snr_db: float | None) -> str:
    """``synthetic_noiseless`` (no noise) or ``synthetic_snr<snr_db>``."""
    return "synthetic_noiseless" if snr_db is None else f"synthetic_snr{snr_db:g}"


def job_params(cfg: dict[str, Any], snr_db: float | None, model: str) -> dict[str, Any]:
    """The ``--params`` of one job, from the config's ``synthetic`` section: the problem, the
    training schedule, the noise level and the model's options."""
    options = options_for(cfg.get("model_options", {}), model)
    return {**cfg["problem"], **cfg.get("train", {}), "snr_db": snr_db, "model_options": options}

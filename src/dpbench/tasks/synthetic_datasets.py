"""Names of the synthetic sparse-recovery datasets, one per noise level.

Free of PyTorch, so that the workflow (``workflow/rules/synthetic.smk``) imports it when it parses.
"""

from __future__ import annotations


def dataset_name(snr_db: float | None) -> str:
    """``synthetic_noiseless`` (no noise) or ``synthetic_snr<snr_db>``."""
    return "synthetic_noiseless" if snr_db is None else f"synthetic_snr{snr_db:g}"

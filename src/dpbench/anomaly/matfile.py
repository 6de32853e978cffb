"""Reading one variable of a MATLAB ``.mat`` file (the ground truth of UCSD frames folders and Avenue)."""

from __future__ import annotations

import os

import numpy as np


def load_mat_variable(path: str | os.PathLike[str], name: str) -> np.ndarray:
    """Variable ``name`` of the MATLAB v5 file ``path``; a ValueError naming the file when it cannot be
    read or lacks the variable (and the variables it has)."""
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except Exception as err:  # scipy raises several types for a damaged or foreign file
        raise ValueError(f"cannot read {path} as a MATLAB v5 file: {err}") from err
    if name not in mat:
        raise ValueError(f"{path} has no {name!r} variable (found {sorted(k for k in mat if not k.startswith('__'))})")
    return np.asarray(mat[name])

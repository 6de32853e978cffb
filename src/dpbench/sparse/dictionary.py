"""Dictionary learning with scikit-learn's ``MiniBatchDictionaryLearning`` (Mairal et al., JMLR 2010).

It minimises ``sum_i 1/2 ||x_i - D z_i||^2 + alpha ||z_i||_1`` over unit-norm atoms, the same Lasso
objective (``alpha = lam``) the encoders approximate.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import MiniBatchDictionaryLearning

from dpbench.progress import progress_bar


def learn_dictionary(
    x: torch.Tensor | np.ndarray, n_atoms: int, lam: float, *, seed: int, n_iter: int = 10, batch_size: int = 256
) -> torch.Tensor:
    """Learn a dictionary for the rows of ``x``; returns ``D`` (``n_features x n_atoms``, float32, unit-norm columns).

    ``n_iter`` is the number of passes over the data (scikit-learn's ``max_iter``).
    """
    X = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if X.ndim != 2:
        raise ValueError(f"expected data of shape (n_samples, n_features), got {X.shape}")
    batch = min(batch_size, X.shape[0])
    n_steps = n_iter * -(-X.shape[0] // batch)  # scikit-learn's step count; it may stop early on convergence
    with progress_bar("dictionary learning", total=n_steps, unit="step") as bar:
        learner = MiniBatchDictionaryLearning(
            n_components=n_atoms,
            alpha=lam,
            max_iter=n_iter,
            batch_size=batch,
            fit_algorithm="cd",
            random_state=seed,
            callback=lambda _: bar.update(),  # called after every step
        )
        learner.fit(X.astype(np.float64))
    D = torch.as_tensor(learner.components_.T.copy(), dtype=torch.float32)
    return D / D.norm(dim=0, keepdim=True).clamp_min(1e-12)

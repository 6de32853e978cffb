"""Datasets: download, preparation into cached tensor files, and feature extraction."""

from dpbench.data.datasets import DATASETS, PreparedDataset, load_prepared, prepare_dataset

__all__ = ["DATASETS", "PreparedDataset", "load_prepared", "prepare_dataset"]

"""Image data for the sparse-coding tasks: deterministic splits, preprocessing and natural-image patches."""

from dpbench.images.data import IMAGE_DATASETS, LABELLED_DATASETS, ImageData, load_image_data, resolve_data_params

__all__ = ["IMAGE_DATASETS", "LABELLED_DATASETS", "ImageData", "load_image_data", "resolve_data_params"]

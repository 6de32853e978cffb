"""Clustering models: Lloyd's k-means and k-meansNet, with scikit-style estimators."""

from dpbench.cluster.kmeans import KMeans, kmeans_plusplus
from dpbench.cluster.kmeansnet import KMeansNet, KMeansNetModule

__all__ = ["KMeans", "KMeansNet", "KMeansNetModule", "kmeans_plusplus"]

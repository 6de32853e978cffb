"""Clustering models: Lloyd's k-means, k-meansNet and k-meansNet trained as TELL's code does."""

from dpbench.cluster.kmeans import KMeans, kmeans_plusplus
from dpbench.cluster.kmeansnet import KMeansNet, KMeansNetModule
from dpbench.cluster.kmeansnet_tell import KMeansNetTELL, TELLNetwork

__all__ = ["KMeans", "KMeansNet", "KMeansNetModule", "KMeansNetTELL", "TELLNetwork", "kmeans_plusplus"]

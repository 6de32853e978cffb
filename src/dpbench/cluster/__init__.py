"""Clustering models: Lloyd's k-means, k-meansNet and k-meansNet trained as TELL's code does.

::

    from dpbench.cluster import KMeans, KMeansNet

    labels = KMeans(10, seed=0).fit_predict(x)                 # x: a (n, d) float tensor
    labels = KMeansNet(10, random_state=0, epochs=30).fit_predict(x)

* :class:`KMeans`: Lloyd's algorithm in PyTorch from k-means++ seeds, best of ``n_init`` starts by
  inertia (runs on the GPU when given CUDA tensors); :func:`kmeans_plusplus` its seeding.
* :class:`KMeansNet`: k-means as a network (Peng, Zhou & Zhu 2018), a softmax relaxation of the
  assignments trained by Adam; :class:`KMeansNetModule` the network itself.
* :class:`KMeansNetTELL`: k-meansNet trained with an autoencoder as the authors' released code does
  (TELL, JMLR 2022); :class:`TELLNetwork` its network.

Each is a scikit-learn style estimator (``fit_predict``). The models are the ``cluster`` entries of
:mod:`dpbench.registry`; a clustering class of your own (``mylab.cluster:MyKMeans``, scikit-learn's
constructor convention) can be benchmarked beside them (docs/adding-a-model.md).
"""

from dpbench.cluster.kmeans import KMeans, kmeans_plusplus
from dpbench.cluster.kmeansnet import KMeansNet, KMeansNetModule
from dpbench.cluster.kmeansnet_tell import KMeansNetTELL, TELLNetwork

__all__ = ["KMeans", "KMeansNet", "KMeansNetModule", "KMeansNetTELL", "TELLNetwork", "kmeans_plusplus"]

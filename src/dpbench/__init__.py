"""dpbench: a reproducible benchmark suite for differentiable programming.

Classical algorithms recast as neural networks (ISTA -> LISTA/SC2Net, k-means -> k-meansNet),
benchmarked against their classical counterparts by a Snakemake workflow.
"""

__version__ = "0.1.0"

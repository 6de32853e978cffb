"""mylab: a stand-in for a research group's own code, benchmarked by dpbench without forking it
(docs/adding-a-model.md)."""

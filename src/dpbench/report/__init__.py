"""Aggregation of per-job results into summary files, LaTeX tables and figures."""

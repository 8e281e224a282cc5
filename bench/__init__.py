"""Benchmarks (`make bench`): throughput of the pipeline and of the classifier, in one run."""

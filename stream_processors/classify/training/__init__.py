"""Offline training of the classifiers: corpora, fine-tuning, export. Never imported at run time."""

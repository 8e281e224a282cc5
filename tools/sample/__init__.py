"""The generator of the bundled synthetic sample (``socmon/sample/*.jsonl``).

``python -m tools.sample`` rewrites the two files; `tools.sample.generate` holds the logic and
``phrases.yaml`` (read by `tools.sample.phrases`) the words.
"""

"""The parts of scripts/benchmark.py: the corpus, the measuring, the stages, the report.

No module here imports ``monitor`` at import time: a stage process measures the import
and loading of the model first, so nothing of the package may be loaded before it.
"""

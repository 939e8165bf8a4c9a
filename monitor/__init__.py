"""Watches public-service complaints on Indonesian social media.

The package is a pipeline of small stages: collect -> store -> understand ->
aggregate -> report. See README.md ("How it is put together").
"""

__version__ = "0.1.0"

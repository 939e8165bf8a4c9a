"""Deciding what a post is: complaint or not, sector, topics.

``load_model()`` gives the model that ``monitor process`` and ``monitor run`` use.
Until the trained classifier ships it is the transparent keyword baseline, and
every report names it as such.
"""

from monitor.classify.baseline import KeywordBaseline


def load_model() -> KeywordBaseline:
    return KeywordBaseline()


__all__ = ["KeywordBaseline", "load_model"]

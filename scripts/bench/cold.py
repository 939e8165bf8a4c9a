"""What a new post meets: empty caches, and the cost of a fresh process loading the model.

``monitor`` keeps per-text and per-word ``functools.lru_cache`` caches (clean text,
tokens, stems, char n-grams, place-name corrections, author pseudonyms). A benchmark
that times texts it has just seen measures those caches, not the code: each timed
repetition therefore starts with them empty (``clear_caches``), with a fresh model and
gazetteer (their per-instance caches start empty), which is what a fresh `monitor run`
meets. Caches of size 1 are resources read once per process (the slang lexicon, stop
words, the stemmer's dictionary, the gazetteer's word lists); they stay, and what they
cost a fresh process is measured by ``model_load_probe`` as the first post. A resource
may keep its own per-word cache (PySastrawi's stemmer does): that is emptied too.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Iterator

HEAVY = ("numpy", "scipy", "sklearn", "nltk", "Sastrawi", "rapidfuzz", "matplotlib")
# Not in the corpus, not in the samples: loads the resources, then its entries are cleared.
PROBE_TEXT = "jalan ke kantor desa rusak parah sejak bulan lalu, mohon dinas PU segera perbaiki"


def _monitor_modules() -> list[tuple[str, object]]:
    return [
        (name, module)
        for name, module in list(sys.modules.items())
        if module is not None and (name == "monitor" or name.startswith("monitor."))
    ]


def _cached_functions() -> Iterator[tuple[str, Callable]]:
    """Every lru_cache-wrapped function of a loaded ``monitor`` module or of its classes."""
    seen: set[int] = set()
    for name, module in _monitor_modules():
        values = list(vars(module).values())
        for value in list(values):
            if isinstance(value, type) and value.__module__ == name:
                values.extend(vars(value).values())
        for value in values:
            function = getattr(value, "__func__", value)  # staticmethod, classmethod
            if callable(getattr(function, "cache_info", None)) and id(function) not in seen:
                seen.add(id(function))
                label = getattr(function, "__qualname__", repr(function))
                yield f"{getattr(function, '__module__', name)}.{label}", function


def per_text_caches() -> dict[str, Callable]:
    """The caches a new post finds empty: every one but the size-1 resource loaders."""
    return {
        label: function
        for label, function in _cached_functions()
        if function.cache_info().maxsize != 1
    }


def resource_word_caches() -> dict[str, dict]:
    """Per-word caches inside resources already loaded: PySastrawi's CachedStemmer keeps
    every stem it made in ``.cache.data``, behind ``monitor``'s own ``stem`` cache."""
    found = {}
    for label, function in _cached_functions():
        info = function.cache_info()
        if info.maxsize != 1 or info.currsize != 1:
            continue  # not a resource, or not loaded: loading it is not ours to do
        try:
            if inspect.signature(function).parameters:
                continue  # called with arguments: calling it bare would not be a look-up
        except (TypeError, ValueError):
            continue
        data = getattr(getattr(function(), "cache", None), "data", None)
        if isinstance(data, dict):
            found[f"{label}().cache"] = data
    return found


def clear_caches() -> list[str]:
    """Empty every per-text and per-word cache of ``monitor``; returns their names."""
    caches = per_text_caches()
    for function in caches.values():
        function.cache_clear()
    inner = resource_word_caches()
    for data in inner.values():
        data.clear()
    return sorted([*caches, *inner])


def entries_in_caches() -> int:
    return sum(f.cache_info().currsize for f in per_text_caches().values()) + sum(
        len(data) for data in resource_word_caches().values()
    )


def monitor_loaded() -> list[str]:
    return sorted(name for name, _ in _monitor_modules())


def model_load_probe() -> dict:
    """Time, in this fresh process, importing the classifier, loading the model (with what
    it imports) and classifying one post (the resources read on first use). Must run before
    anything imports ``monitor``. The model alone is timed by ``load_fresh_model``."""
    before = monitor_loaded()
    started = time.perf_counter()
    from monitor.classify import load_model

    imported = time.perf_counter()
    heavy_after_import = [name for name in HEAVY if name in sys.modules]
    model = load_model()
    loaded = time.perf_counter()
    heavy_after_load = [name for name in HEAVY if name in sys.modules]
    model.predict([PROBE_TEXT])
    first = time.perf_counter()
    return {
        "clean_process": not before,
        "monitor_modules_before": before,
        "import_s": round(imported - started, 3),
        "heavy_imported": heavy_after_import,
        "first_load_s": round(loaded - imported, 3),
        "heavy_after_first_load": heavy_after_load,
        "first_post_s": round(first - loaded, 3),
        "model_version": model.version,
    }


def load_fresh_model(timings: list[float]):
    """A newly loaded model (its per-word caches empty); how long the load took, the
    imports done (the model alone), is appended to ``timings``."""
    from monitor.classify import load_model

    started = time.perf_counter()
    model = load_model()
    timings.append(round(time.perf_counter() - started, 3))
    return model

"""Charts for people: PNG for e-mail (mail clients show no SVG), inline SVG for pages.

Deterministic: the same numbers give the same bytes (no timestamps in the PNG).
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

BLUE = "#1d4ed8"
RED = "#dc2626"
GREY = "#9ca3af"


def y_top(values: Sequence[float]) -> float:
    """The top of a count chart's axis: an empty chart still reads 0 to 1, not
    matplotlib's -0.05 to 0.05 around nothing."""
    return max(1, max(values, default=0)) * 1.05


def bar_chart_png(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    highlight_last: bool = True,
    width_px: int = 640,
    height_px: int = 220,
) -> bytes:
    """A simple bar chart (e.g. complaints per day), the last bar in red when asked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    dpi = 100
    figure, axes = plt.subplots(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    colors = [BLUE] * len(values)
    if highlight_last and colors:
        colors[-1] = RED
    axes.bar(range(len(values)), values, color=colors, width=0.8)
    axes.set_ylim(0, y_top(values))
    axes.set_title(title, fontsize=10, loc="left")
    step = max(1, len(labels) // 10)
    axes.set_xticks(range(0, len(labels), step))
    axes.set_xticklabels([labels[i] for i in range(0, len(labels), step)], fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    # matplotlib's stubs declare Locator.set_params() without arguments, but it takes
    # **kwargs, and the y axis's default locator (AutoLocator, a MaxNLocator) reads "integer".
    axes.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def sparkline_svg(
    values: Sequence[float], width: int = 120, height: int = 24, label: str = ""
) -> str:
    """A tiny inline SVG line of the values (oldest first), with an accessible label."""
    if not values:
        return ""
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )
    title = html.escape(label)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}"><title>{title}</title>'
        f'<polyline fill="none" stroke="{BLUE}" stroke-width="1.5" points="{points}"/></svg>'
    )


def bar_chart_svg(
    labels: Sequence[str], values: Sequence[float], label: str, width: int = 640, height: int = 200
) -> str:
    """An inline SVG bar chart with value labels, readable without JavaScript."""
    if not values:
        return ""
    top = max(max(values), 1)
    bottom_margin, top_margin = 34, 16
    inner = height - bottom_margin - top_margin
    slot = width / len(values)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{html.escape(label)}"><title>{html.escape(label)}</title>'
    ]
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        bar = inner * value / top
        x = i * slot + slot * 0.15
        y = top_margin + inner - bar
        middle = x + slot * 0.35
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar:.1f}" '
            f'fill="{BLUE}"/>'
            f'<text x="{middle:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle" '
            f'fill="#111827">{value:g}</text>'
            f'<text x="{middle:.1f}" y="{height - 18}" font-size="10" text-anchor="middle" '
            f'fill="#4b5563">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

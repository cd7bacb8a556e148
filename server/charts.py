"""Charts as SVG drawn on the server: no chart library, no script, no CDN.

Why not a vendored npm chart library: the figures are few and simple (columns against a
target line, horizontal bars, a histogram); server-side SVG prints exactly as it shows,
works without JavaScript (and with the coming strict CSP), keeps every bar a plain link
to the requests behind it, and costs ~150 lines instead of a 200 KB bundle to keep
pinned. Colours come from CSS classes (app.css), so the print stylesheet can turn the
dark screen theme into black on white.

Every chart has a <title> and an accessible table next to it in the page (the figures
are also in the tables), so a screen reader never has to read the SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: nothing measured (drawn as a gap, labelled '—')
    href: str = ""
    text: str = ""  # the value as shown, e.g. '96 %' or '12'
    miss: bool = False  # below its target


def _link(href: str, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def columns(bars: Sequence[Bar], *, title: str, max_value: float, target: float | None = None,
            target_text: str = "", width: int = 640, height: int = 220) -> Markup:
    """Vertical columns (periods or bins), optionally with a dashed target line."""
    left, right, top, bottom = 40, 10, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(bars), 1)
    step = plot_w / n
    bar_w = max(min(step * 0.7, 60), 4)
    top_value = max_value or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
             f"<title>{escape(title)}</title>"]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line class="chart-grid" x1="{left}" x2="{width - right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        label = f"{frac * top_value:g}" if top_value != 1 else f"{frac * 100:g} %"
        parts.append(f'<text class="chart-axis" x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(label)}</text>')
    for i, bar in enumerate(bars):
        x = left + step * i + (step - bar_w) / 2
        cx = x + bar_w / 2
        inner = ""
        if bar.value is not None:
            h = plot_h * min(bar.value / top_value, 1)
            y = top + plot_h - h
            cls = "chart-bar miss" if bar.miss else "chart-bar"
            inner += (f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                      f'height="{max(h, 1):.1f}"><title>{escape(bar.label)}: '
                      f"{escape(bar.text)}</title></rect>")
            inner += (f'<text class="chart-value" x="{cx:.1f}" y="{max(y - 3, 10):.1f}" '
                      f'text-anchor="middle">{escape(bar.text)}</text>')
        else:
            inner += (f'<text class="chart-value muted" x="{cx:.1f}" y="{top + plot_h - 3}" '
                      'text-anchor="middle">—</text>')
        parts.append(_link(bar.href, inner))
        parts.append(f'<text class="chart-axis" x="{cx:.1f}" y="{height - bottom + 14}" '
                     f'text-anchor="middle">{escape(bar.label)}</text>')
    if target is not None:
        y = top + plot_h * (1 - target / top_value)
        parts.append(f'<line class="chart-target" x1="{left}" x2="{width - right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-target-label" x="{width - right}" y="{y - 4:.1f}" '
                     f'text-anchor="end">{escape(target_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(bars: Sequence[Bar], *, title: str, width: int = 420, row: int = 22) -> Markup:
    """Horizontal bars with their labels: counts per device type, engineer, shift..."""
    label_w, value_w = 130, 44
    plot_w = width - label_w - value_w
    height = row * max(len(bars), 1) + 4
    top = max((b.value or 0) for b in bars) if bars else 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, bar in enumerate(bars):
        y = 2 + i * row
        w = plot_w * ((bar.value or 0) / top if top else 0)
        label = bar.label if len(bar.label) <= 16 else bar.label[:15] + "…"
        inner = (f'<text class="chart-axis" x="{label_w - 6}" y="{y + row * 0.68:.1f}" '
                 f'text-anchor="end">{escape(label)}</text>'
                 f'<rect class="chart-bar" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" '
                 f'height="{row - 7}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
                 f'<text class="chart-value" x="{label_w + w + 4:.1f}" y="{y + row * 0.68:.1f}">'
                 f"{escape(bar.text)}</text>")
        parts.append(_link(bar.href, inner))
    parts.append("</svg>")
    return Markup("".join(parts))

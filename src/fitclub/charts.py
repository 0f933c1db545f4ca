"""Charts as PNG images, drawn with matplotlib's Agg backend.

matplotlib (with numpy) costs a process tens of megabytes, so it is imported inside the
drawing function: a bot that never draws a chart never loads it. pyplot is not used: its
figure registry is global to the process and keeps every figure until `plt.close`, while a
`Figure` of our own on an Agg canvas is freed like any object (matplotlib's advice for
servers). matplotlib is not thread-safe (shared font and text caches), so drawings in one
process take turns under one lock; a chart takes about 0.1 s. Activity charts are drawn by the
renderer's own process (`fitclub.runtime.pictures`), never by a worker; the admins' weekly
report chart is still drawn by its handler.

Labels must fit in any language: after the layout, the axis labels are measured as drawn
(the renderer's extents); labels closer than LABEL_GAP (they would read as one) are turned
45 degrees, then upright (if no taller than UPRIGHT_MAX), and if they still are, only every
second (third, ...) one is kept, at 45 degrees. Texts are large for an 800 px image: a phone
shows it about half as wide. `text_boxes` draws the same figure and returns where every
text landed, for the tests.
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8, 4, 100  # 800 x 400 pixels
BAR = "#4c72b0"
BAR_LAST = "#dd8452"  # the current (unfinished) period
LABEL_GAP = 8  # pixels kept free between two labels (a word space is about 3)
# Font sizes in points (at DPI 100 a point is 1.39 pixels): the image is shown about half its
# width on a phone, so its texts are drawn at twice a readable size there (~11 px shown).
UPRIGHT_MAX = 100  # labels are turned upright only if no taller than this (pixels)
TITLE_POINTS, LABEL_POINTS, NUMBER_POINTS = 18, 16, 14  # title; axis labels; bar numbers

_drawing = threading.Lock()


class Box(NamedTuple):
    """Where a text landed, in pixels from the image's bottom left corner."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = 0) -> bool:
        """Whether the two boxes come closer than `gap` pixels (overlap, with gap 0)."""
        return (self.x0 < other.x1 + gap and other.x0 < self.x1 + gap
                and self.y0 < other.y1 + gap and other.y0 < self.y1 + gap)


class Layout(NamedTuple):
    """A chart's size in pixels and its texts' boxes (title, axis labels, bar labels)."""

    width: int
    height: int
    boxes: tuple[Box, ...]


def _touching(labels: list[Any], renderer: Any) -> bool:
    """Whether two shown labels (left to right) come closer than LABEL_GAP."""
    shown = [t.get_window_extent(renderer) for t in labels if t.get_visible() and t.get_text()]
    return any(a.x1 + LABEL_GAP > b.x0 for a, b in itertools.pairwise(shown))


def _turn(fig: Any, ticks: list[Any], degrees: int) -> None:
    """Turn the axis labels (their ends at the ticks) and lay the figure out again."""
    for tick in ticks:
        tick.set_rotation(degrees)
        tick.set_horizontalalignment("center" if degrees == 90 else "right")
        tick.set_rotation_mode("default" if degrees == 90 else "anchor")
    fig.draw_without_rendering()


def _tallest(labels: list[Any], renderer: Any) -> float:
    """The height of the tallest shown label, in pixels."""
    return max((t.get_window_extent(renderer).height for t in labels if t.get_visible()),
               default=0)


def _draw(labels: Sequence[str], values: Sequence[int], title: str) -> Any:
    """The figure, laid out, with axis labels that fit (call under the lock)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = range(len(values))
    colours = [BAR] * len(values)
    if colours:
        colours[-1] = BAR_LAST
    bars = ax.bar(positions, values, color=colours, width=0.7)
    ax.bar_label(bars, labels=[str(v) if v else "" for v in values], padding=2,
                 fontsize=NUMBER_POINTS)
    ax.set_xticks(list(positions), list(labels), fontsize=LABEL_POINTS)
    ax.tick_params(axis="y", labelsize=LABEL_POINTS)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.set_ylim(0, max([*values, 1]) * 1.2)
    ax.set_title(title, fontsize=TITLE_POINTS)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ticks = ax.get_xticklabels()
    fig.draw_without_rendering()
    renderer = canvas.get_renderer()
    if _touching(ticks, renderer):
        _turn(fig, ticks, 45)
        if _touching(ticks, renderer):  # upright, unless that takes too much of the height
            _turn(fig, ticks, 90)
            if _touching(ticks, renderer) or _tallest(ticks, renderer) > UPRIGHT_MAX:
                _turn(fig, ticks, 45)
    step = 1
    while _touching(ticks, renderer) and step < len(ticks):
        step += 1
        for n, tick in enumerate(ticks):  # the last (current) period keeps its label
            tick.set_visible((len(ticks) - 1 - n) % step == 0)
        fig.draw_without_rendering()
    return fig


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str) -> bytes:
    """A bar chart of whole numbers as PNG bytes; the last bar stands out (the current period).

    Labels and title are plain text (not HTML); a label may take two lines ("6\\nDec").
    """
    with _drawing:
        fig = _draw(labels, values, title)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI)
        return out.getvalue()


def text_boxes(labels: Sequence[str], values: Sequence[int], *, title: str) -> Layout:
    """The chart bar_chart draws, measured: its size and every visible text's box."""
    with _drawing:
        fig = _draw(labels, values, title)
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        low, high = ax.get_ylim()
        drawn_y = [label for tick, label in zip(ax.get_yticks(), ax.get_yticklabels(),
                                                strict=True) if low <= tick <= high]
        texts = [ax.title, *ax.get_xticklabels(), *drawn_y, *ax.texts]  # texts: bar labels
        boxes = []
        for text in texts:
            if text.get_visible() and text.get_text():
                extent = text.get_window_extent(renderer)
                boxes.append(Box(text.get_text(), extent.x0, extent.y0, extent.x1, extent.y1))
        width, height = fig.canvas.get_width_height()
        return Layout(width, height, tuple(boxes))

"""Charts as PNG images, drawn with matplotlib's Agg backend.

matplotlib (with numpy) costs a process tens of megabytes, so it is imported inside the
drawing function: a bot that never draws a chart never loads it. pyplot is not used: its
figure registry is global to the process and keeps every figure until `plt.close`, while a
`Figure` of our own on an Agg canvas is freed like any object (matplotlib's advice for
servers). matplotlib is not thread-safe (shared font and text caches), and the bot draws from
worker threads, so drawings take turns under one lock; a chart takes tens of milliseconds.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8, 4, 100  # 800 x 400 pixels
BAR = "#4c72b0"
BAR_LAST = "#dd8452"  # the current (unfinished) period

_drawing = threading.Lock()


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str) -> bytes:
    """A bar chart of whole numbers as PNG bytes; the last bar stands out (the current period).

    Labels and title are plain text (not HTML).
    """
    with _drawing:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        fig = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        positions = range(len(values))
        colours = [BAR] * len(values)
        if colours:
            colours[-1] = BAR_LAST
        bars = ax.bar(positions, values, color=colours, width=0.7)
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], padding=2)
        ax.set_xticks(list(positions), list(labels), fontsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max([*values, 1]) * 1.2)
        ax.set_title(title)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=DPI)
        return out.getvalue()

"""The activity chart: a PNG of sensible size in either language; matplotlib stays unloaded
until a chart is drawn; the caption holds every number of the chart."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from fitclub.locales import Texts
from fitclub.screens import activity as screens
from fitclub.services.activity import Activity, Week, streak, week_start

ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2025, 11, 3)
STATS = Activity(this_month=3, last_month=21, streak=5, classes=12, total=40,
                 favourite="Body & Mind",
                 weeks=tuple(Week(FIRST + timedelta(weeks=i), (0, 1, 4, 2)[i % 4])
                             for i in range(12)))


def _image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("stats", [STATS, STATS._replace(weeks=tuple(
    w._replace(visits=0) for w in STATS.weeks))], ids=["visits", "empty weeks"])
def test_the_chart_is_a_png_of_sensible_size(lang, stats):
    image = _image(screens.chart(Texts(lang), stats))
    assert 600 <= image.width <= 1600 and 300 <= image.height <= 900, image.size
    assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 3  # not a blank image


def test_charts_drawn_from_many_threads_at_once_all_decode():
    with ThreadPoolExecutor(6) as pool:
        pngs = list(pool.map(lambda lang: screens.chart(Texts(lang), STATS), ["en", "ru"] * 4))
    assert all(_image(png).size == _image(pngs[0]).size for png in pngs)


def test_the_bot_does_not_load_matplotlib_until_a_chart_is_drawn():
    probe = ("import sys\n"
             "import fitclub.app, fitclub.handlers, fitclub.handlers.activity\n"
             "import fitclub.screens.activity, fitclub.charts\n"
             "print(sorted({'matplotlib', 'numpy'} & set(sys.modules)))\n"
             "from fitclub.locales import Texts\n"
             "from tests.unit.test_activity_chart import STATS\n"
             "fitclub.screens.activity.chart(Texts('en'), STATS)\n"
             "print('matplotlib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120,
                         env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert out.stdout.split("\n")[:2] == ["[]", "True"], out.stdout + out.stderr


def test_the_caption_has_every_number_of_the_chart():
    text = screens.summary(Texts("en"), STATS).text
    for line in ("This month: 3 visits", "Last month: 21 visits", "Weekly streak: 5 weeks",
                 "Classes attended: 12", "Visits in all: 40", "Favourite class: Body &amp; Mind",
                 "Nov 3 – 0, Nov 10 – 1, Nov 17 – 4, Nov 24 – 2"):
        assert line in text
    ru = screens.summary(Texts("ru"), STATS).text
    assert "В прошлом месяце: 21 посещение" in ru and "Серия: 5 недель подряд" in ru
    assert "3 нояб. – 0" in ru


def test_weeks_start_on_the_given_day_and_a_streak_survives_an_unfinished_week():
    wednesday = date(2026, 1, 7)
    assert week_start(wednesday, 0) == date(2026, 1, 5)
    assert week_start(wednesday, 6) == date(2026, 1, 4)
    assert week_start(date(2026, 1, 4), 6) == date(2026, 1, 4)
    weeks = {date(2025, 12, 22), date(2025, 12, 29)}
    assert streak(weeks, date(2026, 1, 5)) == 2  # nothing yet this week: counts to last week
    assert streak(weeks | {date(2026, 1, 5)}, date(2026, 1, 5)) == 3
    assert streak(weeks, date(2026, 1, 12)) == 0

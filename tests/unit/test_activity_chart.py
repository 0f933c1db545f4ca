"""The weekly charts (a member's activity, the club's report): a PNG of sensible size in either
language whose labels fit (measured as matplotlib drew them: no two overlap, all inside the
image); matplotlib stays unloaded until a chart is drawn; the captions carry the headline
figures, not every bar again."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from fitclub import charts
from fitclub.locales import Texts
from fitclub.screens import activity as screens
from fitclub.screens import reports as report_screens
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


@pytest.mark.parametrize(("lang", "lines", "headline"), [
    ("en", ["This month: 3 visits", "Last month: 21 visits", "Weekly streak: 5 weeks",
            "Classes attended: 12", "Visits in all: 40", "Favourite class: Body &amp; Mind"],
     "21 visits in the last 12 weeks, best week: 4"),
    ("ru", ["В этом месяце: 3 посещения", "В прошлом месяце: 21 посещение",
            "Серия: 5 недель подряд", "Посещено занятий: 12", "Всего посещений: 40"],
     "21 посещение за последние 12 недель, лучшая неделя: 4"),
])
def test_the_activity_caption_has_the_headline_not_every_bar(lang, lines, headline):
    tx = Texts(lang)
    text = screens.summary(tx, STATS).text
    assert all(line in text for line in lines)
    assert text.endswith("\n" + headline)
    for week in STATS.weeks:  # no bar repeated as text
        assert screens.week_label(tx, week) not in text
    none = STATS._replace(weeks=tuple(w._replace(visits=0) for w in STATS.weeks))
    assert screens.summary(tx, none).text.endswith({
        "en": "\nNo visits in the last 12 weeks.",
        "ru": "\nЗа последние 12 недель посещений не было."}[lang])


@pytest.mark.parametrize(("lang", "caption", "none"), [
    ("en", "<b>📈 Club visits per week</b>\n21 visits in the last 12 weeks · best week: 4 "
           "(12 Jan) · this week so far: 2",
     "<b>📈 Club visits per week</b>\nNo visits in the last 12 weeks."),
    ("ru", "<b>📈 Посещения клуба по неделям</b>\n21 посещение за последние 12 недель · "
           "лучшая неделя: 4 (12 янв.) · эта неделя пока: 2",
     "<b>📈 Посещения клуба по неделям</b>\nЗа последние 12 недель посещений не было."),
])
def test_the_report_caption_has_the_headline_not_every_bar(lang, caption, none):
    """Visits in the weeks shown, the best week (the latest of equals) and this week so far."""
    tx = Texts(lang)
    assert report_screens.chart_caption(tx, STATS.weeks) == caption
    assert report_screens.chart_caption(tx, tuple(w._replace(visits=0)
                                                  for w in STATS.weeks)) == none


# Twelve weeks over the months with the longest short names ('сент.', 'нояб.'), and a busy
# club's numbers.
AUTUMN = tuple(Week(date(2026, 8, 17) + timedelta(weeks=i), 100 + 17 * i) for i in range(12))


def _fits(layout: charts.Layout) -> None:
    """No two texts overlap or come closer than charts.LABEL_GAP (labels 3 pixels apart, a
    word space, read as one: '17 нояб. 24 нояб.'), and every one lies inside the image."""
    boxes = layout.boxes
    for box in boxes:
        assert box.x0 >= 0 and box.x1 <= layout.width, box
        assert box.y0 >= 0 and box.y1 <= layout.height, box
    for n, a in enumerate(boxes):
        for b in boxes[n + 1:]:
            assert not a.overlaps(b, charts.LABEL_GAP), (a, b)


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("weeks", [STATS.weeks, AUTUMN], ids=["winter", "autumn"])
@pytest.mark.parametrize("title", ["activity_chart_title", "rep_chart_title"])
def test_the_charts_labels_fit_in_either_language(lang, weeks, title):
    """The charts as drawn for members and admins: every week's label shown, none touching
    another or the bars' numbers, all inside an 800 x 400 image (the PNG decoded)."""
    tx = Texts(lang)
    labels = screens.axis_labels(tx, weeks)
    values = [w.visits for w in weeks]
    layout = charts.text_boxes(labels, values, title=tx(title))
    _fits(layout)
    shown = [b.text for b in layout.boxes]
    assert all(label in shown for label in labels)
    assert labels[0] == screens.week_label(tx, weeks[0]).replace(" ", "\n")
    assert (layout.width, layout.height) == (800, 400)
    image = _image(charts.bar_chart(labels, values, title=tx(title)))
    assert image.size == (layout.width, layout.height)
    if weeks is STATS.weeks:
        png = (screens.chart if title == "activity_chart_title" else
               lambda tx, stats: report_screens.chart(tx, stats.weeks))(tx, STATS)
        assert _image(png).size == (800, 400)


@pytest.mark.parametrize("words", [1, 3], ids=["whole dates", "long labels"])
def test_labels_too_wide_side_by_side_are_turned_or_thinned_until_they_fit(words):
    """A week written out in full ('17 нояб.', as the chart's labels once were) runs into
    the next one side by side: the chart turns them; labels longer still are thinned out
    (the current week keeps its label)."""
    tx = Texts("ru")
    labels = [" ".join([screens.week_label(tx, w)] * words) for w in AUTUMN]
    layout = charts.text_boxes(labels, [w.visits for w in AUTUMN], title=tx("rep_chart_title"))
    _fits(layout)
    shown = [b.text for b in layout.boxes if b.text in labels]
    assert shown[-1] == labels[-1]
    assert (len(shown) == len(labels)) is (words == 1)


def test_weeks_start_on_the_given_day_and_a_streak_survives_an_unfinished_week():
    wednesday = date(2026, 1, 7)
    assert week_start(wednesday, 0) == date(2026, 1, 5)
    assert week_start(wednesday, 6) == date(2026, 1, 4)
    assert week_start(date(2026, 1, 4), 6) == date(2026, 1, 4)
    weeks = {date(2025, 12, 22), date(2025, 12, 29)}
    assert streak(weeks, date(2026, 1, 5)) == 2  # nothing yet this week: counts to last week
    assert streak(weeks | {date(2026, 1, 5)}, date(2026, 1, 5)) == 3
    assert streak(weeks, date(2026, 1, 12)) == 0


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("weeks", [STATS.weeks, AUTUMN], ids=["winter", "autumn"])
def test_the_charts_texts_are_readable_at_half_size(lang, weeks):
    """A phone shows the 800 px image about 400 px wide: the title and the axis labels are
    drawn at least 24 and 20 pixels a line, so they read as 12 and 10 there."""
    tx = Texts(lang)
    labels = screens.axis_labels(tx, weeks)
    layout = charts.text_boxes(labels, [w.visits for w in weeks], title=tx("rep_chart_title"))
    (title,) = [b for b in layout.boxes if b.text == tx("rep_chart_title")]
    assert title.y1 - title.y0 >= 24, title
    numbers = [b for b in layout.boxes if b.text.isdigit()]  # the y axis and the bars
    assert numbers and all(b.y1 - b.y0 >= 18 for b in numbers), numbers
    for box in (b for b in layout.boxes if b.text in labels):
        lines = box.text.count("\n") + 1
        assert max(box.y1 - box.y0, box.x1 - box.x0) / lines >= 20, box  # upright or turned

"""split_text: Telegram-sized parts that each parse as HTML on their own."""

from __future__ import annotations

import re

import pytest

from fitclub.runtime.context import MAX_TEXT, split_text


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _balanced(part: str) -> bool:
    stack = []
    for closing, name in re.findall(r"<(/?)([a-z]+)[^>]*>", part):
        if closing:
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def test_short_text_is_one_part():
    assert split_text("hello") == ["hello"]
    assert split_text("") == [""]


def test_cuts_at_line_breaks_when_it_can():
    text = ("a" * 3000 + "\n") * 3
    parts = split_text(text)
    assert all(_utf16(p) <= MAX_TEXT for p in parts)
    assert all(set(p.strip()) == {"a"} for p in parts)


@pytest.mark.parametrize("unit", ["&amp;", "<b>bold</b>", '<a href="https://t.me/x">link</a>',
                                  "😀", "&lt;x&gt;"])
def test_never_cuts_inside_a_tag_or_an_entity_without_line_breaks(unit):
    text = unit * (2 * MAX_TEXT // len(unit) + 7)
    parts = split_text(text)
    assert len(parts) >= 2
    for part in parts:
        assert _utf16(part) <= MAX_TEXT
        assert not re.search(r"&[a-z#0-9]*$", part), "ends inside an entity"
        assert not re.search(r"<[^>]*$", part), "ends inside a tag"
        assert not re.match(r"^[^<]*>", part), "starts inside a tag"
        assert _balanced(part)
    def plain(html):
        return re.sub(r"<[^>]+>", "", html)

    assert plain("".join(parts)) == plain(text), "nothing lost or added but reopened tags"


def test_a_tag_open_at_the_cut_is_closed_and_reopened():
    text = "<b>" + "word " * 2000 + "</b>"
    parts = split_text(text)
    assert len(parts) >= 2
    assert all(_balanced(p) for p in parts)
    assert parts[0].startswith("<b>") and parts[0].endswith("</b>")
    assert parts[1].startswith("<b>")
    assert sum(p.count("word") for p in parts) == 2000


def test_split_text_respects_the_limit_and_keeps_everything():
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(200))
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert split_text("y" * 5000, 4096) == ["y" * 4096, "y" * 904]

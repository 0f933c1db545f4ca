"""Formatted text parsing: the entities Telegram would produce."""

import pytest

from tgemu.errors import ApiError
from tgemu.textparse import parse_html, parse_markdown, parse_markdown_v2, parse_text


def test_html_entities_use_utf16_offsets():
    text, entities = parse_html("😀 <b>bold</b> <a href='https://x.io'>link</a> &lt;3")
    assert text == "😀 bold link <3"
    assert entities == [
        {"offset": 3, "length": 4, "type": "bold"},
        {"offset": 8, "length": 4, "type": "text_link", "url": "https://x.io"},
    ]


def test_html_nested_and_pre_with_language():
    text, entities = parse_html('<b>a<i>b</i></b><pre><code class="language-py">x=1</code></pre>')
    assert text == "abx=1"
    assert {"offset": 1, "length": 1, "type": "italic"} in entities
    assert {"offset": 2, "length": 3, "type": "pre", "language": "py"} in entities


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("я <x>", 'Unsupported start tag "x" at byte offset 3'),
    ],
)
def test_html_errors(source, message):
    with pytest.raises(ApiError) as info:
        parse_html(source)
    assert info.value.description == "Bad Request: can't parse entities: " + message


def test_markdown_v2_entities_and_escapes():
    text, entities = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||sp|| `c.d` [l](https://x\.io) 1\.5")
    assert text == "b i u s sp c.d l 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "https://x.io"


def test_markdown_legacy():
    text, entities = parse_markdown("*b* _i_ [t](https://x.io)")
    assert text == "b i t"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link"]
    with pytest.raises(ApiError, match="Can't find end of the entity starting at byte offset 0"):
        parse_markdown("*open")


def test_length_is_counted_after_parsing_and_whitespace_only_is_empty():
    assert parse_text("<b>" + "x" * 4096 + "</b>", "HTML", None)[0] == "x" * 4096
    with pytest.raises(ApiError, match="message text is empty"):
        parse_text("<b> </b>", "HTML", None)

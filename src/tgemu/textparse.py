"""Formatted text as Telegram parses it: HTML, MarkdownV2 and legacy Markdown into entities.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API; error messages
quote UTF-8 byte offsets into the original text, as Telegram's do. Each parser is one
scanning loop on purpose (it mirrors Telegram's own), hence the branch-count exemptions.
"""

import html
import json
import re

from tgemu.errors import bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units (what Telegram counts)."""
    return len(s.encode("utf-16-le")) // 2


class _Out:
    """Accumulates plain text and tracks its UTF-16 length."""

    def __init__(self):
        self.parts: list[str] = []
        self.pos = 0

    def add(self, s: str):
        self.parts.append(s)
        self.pos += utf16_len(s)

    def text(self) -> str:
        return "".join(self.parts)


def _cant_parse(message: str):
    return bad_request("can't parse entities: " + message)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


# --- HTML ---------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _decode_entities(s: str) -> str:
    return _HTML_ENTITY.sub(lambda m: html.unescape(m.group(0)), s)


def parse_html(text: str) -> tuple[str, list[dict]]:  # noqa: PLR0912, PLR0915
    """Parse Telegram's HTML subset; raise 400 "can't parse entities" like Telegram."""
    out = _Out()
    stack: list[tuple[str, int, dict, int]] = []
    entities: list[dict] = []
    n = len(text)
    i = 0
    plain_start = 0
    while i < n:
        c = text[i]
        if c == "&":
            m = _HTML_ENTITY.match(text, i)
            if m:
                out.add(text[plain_start:i])
                out.add(html.unescape(m.group(0)))
                i = m.end()
                plain_start = i
                continue
            i += 1
            continue
        if c != "<":
            i += 1
            continue
        out.add(text[plain_start:i])
        begin = i
        i += 1
        if i >= n:
            raise _cant_parse(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] != "/":
            j = i
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            if j >= n:
                raise _cant_parse(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[i:j].lower()
            if tag not in _HTML_TAGS:
                raise _cant_parse(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            attrs: dict[str, str] = {}
            while True:
                while j < n and text[j].isspace():
                    j += 1
                if j >= n:
                    raise _cant_parse(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if text[j] == ">":
                    break
                m = _ATTR_NAME.match(text, j)
                if not m:
                    raise _cant_parse(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(text, j)}"
                    )
                name = m.group(0).lower()
                j = m.end()
                while j < n and text[j].isspace():
                    j += 1
                if j >= n or text[j] != "=":
                    # A bare attribute, such as <blockquote expandable>.
                    attrs[name] = ""
                    continue
                j += 1
                while j < n and text[j].isspace():
                    j += 1
                if j >= n:
                    raise _cant_parse(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if text[j] in "\"'":
                    quote = text[j]
                    end = text.find(quote, j + 1)
                    if end < 0:
                        raise _cant_parse(
                            f'Unclosed end of attribute value in the tag "{tag}" '
                            f"at byte offset {_byte_offset(text, j)}"
                        )
                    value = text[j + 1 : end]
                    j = end + 1
                else:
                    k = j
                    while k < n and not text[k].isspace() and text[k] != ">":
                        k += 1
                    value = text[j:k]
                    j = k
                attrs[name] = _decode_entities(value)
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                raise _cant_parse(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, begin)}"
                )
            stack.append((tag, out.pos, attrs, begin))
            i = j + 1
            plain_start = i
        else:
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_tag = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise _cant_parse(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            if not stack:
                raise _cant_parse(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            tag, start, attrs, _ = stack[-1]
            if end_tag != tag:
                raise _cant_parse(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_tag}>"'
                )
            stack.pop()
            length = out.pos - start
            if length > 0:
                entities.append(_html_entity(tag, start, length, attrs, stack))
            i = j + 1
            plain_start = i
    out.add(text[plain_start:])
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _html_entity(tag, start, length, attrs, stack) -> dict:
    kind = _HTML_TAGS[tag]
    entity = {"offset": start, "length": length, "type": kind}
    if kind == "text_link":
        href = attrs.get("href", "")
        m = re.match(r"tg://user\?id=(\d+)$", href)
        if m:
            entity = {
                "offset": start,
                "length": length,
                "type": "text_mention",
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
            }
        else:
            entity["url"] = href
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif kind == "code" and stack and stack[-1][0] == "pre":
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            entity = {
                "offset": start,
                "length": length,
                "type": "pre",
                "language": lang[len("language-") :],
            }
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


# --- MarkdownV2 ---------------------------------------------------------------------------

_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:  # noqa: PLR0912, PLR0915
    """Parse MarkdownV2; every reserved character outside an entity must be escaped."""
    out = _Out()
    stack: list[dict] = []
    entities: list[dict] = []
    n = len(text)
    i = 0
    quote_start = None  # out.pos where a '>' blockquote line began
    line_start = True
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "\\" and nxt and 0 < ord(nxt) <= 126:
            out.add(nxt)
            i += 2
            line_start = False
            continue
        in_code = bool(stack) and stack[-1]["type"] in ("code", "pre")
        if c == "\n":
            if quote_start is not None and not (i + 1 < n and text[i + 1] == ">"):
                _close_quote(entities, quote_start, out.pos)
                quote_start = None
            out.add(c)
            i += 1
            line_start = True
            continue
        if c == ">" and line_start and not stack:
            if quote_start is None:
                quote_start = out.pos
            i += 1
            line_start = False
            continue
        line_start = False
        if c != "`" if in_code else c not in _V2_RESERVED:
            out.add(c)
            i += 1
            continue
        top = stack[-1]["type"] if stack else None
        closes = {
            "bold": c == "*",
            "italic": c == "_" and nxt != "_",
            "underline": c == "_" and nxt == "_",
            "strikethrough": c == "~",
            "spoiler": c == "|" and nxt == "|",
            "code": c == "`",
            "pre": c == "`" and text[i : i + 3] == "```",
            "text_link": c == "]",
        }.get(top, False)
        if closes:
            ent = stack.pop()
            if top in ("underline", "spoiler"):
                i += 2
            elif top == "pre":
                i += 3
            else:
                i += 1
            if top == "text_link":
                if i < n and text[i] == "(":
                    url, i = _v2_url(text, i + 1, ent["byte"])
                else:
                    url = ""
                ent["url"] = url
            length = out.pos - ent["offset"]
            if length > 0 and (top != "text_link" or ent["url"]):
                entity = {"offset": ent["offset"], "length": length, "type": top}
                if top == "text_link":
                    entity["url"] = ent["url"]
                if top == "pre" and ent.get("language"):
                    entity["language"] = ent["language"]
                entities.append(entity)
            continue
        begin = i
        if c == "_" and nxt == "_":
            kind, i = "underline", i + 2
        elif c == "_":
            kind, i = "italic", i + 1
        elif c == "*":
            kind, i = "bold", i + 1
        elif c == "~":
            kind, i = "strikethrough", i + 1
        elif c == "|" and nxt == "|":
            kind, i = "spoiler", i + 2
        elif c == "[":
            kind, i = "text_link", i + 1
        elif c == "`" and text[i : i + 3] == "```":
            kind, i = "pre", i + 3
        elif c == "`":
            kind, i = "code", i + 1
        else:
            raise _cant_parse(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        ent = {"type": kind, "offset": out.pos, "byte": _byte_offset(text, begin)}
        if kind == "pre":
            nl = text.find("\n", i)
            first_line = text[i:nl] if nl >= 0 else ""
            if nl >= 0 and first_line and " " not in first_line and "`" not in first_line:
                ent["language"] = first_line
                i = nl + 1
            ent["offset"] = out.pos
        stack.append(ent)
    if quote_start is not None:
        _close_quote(entities, quote_start, out.pos)
    if stack:
        ent = stack[-1]
        raise _cant_parse(
            f"Can't find end of {_V2_NAMES[ent['type']]} entity at byte offset {ent['byte']}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _close_quote(entities, start, end):
    if end > start:
        entities.append({"offset": start, "length": end - start, "type": "blockquote"})


def _v2_url(text: str, i: int, begin_byte: int) -> tuple[str, int]:
    url = []
    n = len(text)
    while i < n and text[i] != ")":
        if text[i] == "\\" and i + 1 < n:
            url.append(text[i + 1])
            i += 2
            continue
        url.append(text[i])
        i += 1
    if i >= n:
        raise _cant_parse(f"Can't find end of a URL at byte offset {begin_byte}")
    return "".join(url), i + 1


# --- legacy Markdown ----------------------------------------------------------------------


def parse_markdown(text: str) -> tuple[str, list[dict]]:  # noqa: PLR0912, PLR0915
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Out()
    entities: list[dict] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        if c == "`" and text[i : i + 3] == "```":
            end = text.find("```", i + 3)
            if end < 0:
                raise _cant_parse(
                    f"Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, begin)}"
                )
            body = text[i + 3 : end]
            lang = None
            nl = body.find("\n")
            if nl > 0 and " " not in body[:nl]:
                lang, body = body[:nl], body[nl + 1 :]
            start = out.pos
            out.add(body)
            if out.pos > start:
                ent = {"offset": start, "length": out.pos - start, "type": "pre"}
                if lang:
                    ent["language"] = lang
                entities.append(ent)
            i = end + 3
            continue
        closer = "]" if c == "[" else c
        end = text.find(closer, i + 1)
        if end < 0:
            raise _cant_parse(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        body = text[i + 1 : end]
        start = out.pos
        out.add(body)
        i = end + 1
        kind = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}[c]
        ent = {"offset": start, "length": out.pos - start, "type": kind}
        if kind == "text_link":
            if i < n and text[i] == "(":
                close = text.find(")", i + 1)
                if close < 0:
                    raise _cant_parse(
                        f"Can't find end of the entity starting at byte offset "
                        f"{_byte_offset(text, begin)}"
                    )
                ent["url"] = text[i + 1 : close]
                i = close + 1
            else:
                continue
        if ent["length"] > 0:
            entities.append(ent)
    return out.text(), entities


# --- entry point ----------------------------------------------------------------------------


def parse_text(raw, parse_mode, entities_param, *, caption: bool = False):
    """Validate a text or caption and return (plain_text, entities) as Telegram stores them."""
    text = "" if raw is None else str(raw)
    mode = (parse_mode or "").strip()
    entities: list[dict] = []
    if mode:
        low = mode.lower()
        if low == "html":
            text, entities = parse_html(text)
        elif low == "markdownv2":
            text, entities = parse_markdown_v2(text)
        elif low == "markdown":
            text, entities = parse_markdown(text)
        else:
            raise bad_request("unsupported parse_mode")
    elif entities_param:
        entities = _load_entities(entities_param)
    stripped = text.strip()
    if not caption and not stripped:
        raise bad_request("message text is empty")
    limit = MAX_CAPTION if caption else MAX_TEXT
    if utf16_len(text) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return text, entities


def _load_entities(value) -> list[dict]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request("can't parse entities JSON object") from None
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise bad_request("can't parse entities JSON object")
    return value

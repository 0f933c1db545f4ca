"""The Bot API surface: methods, parameter transports and Telegram's error wording."""

import json

import pytest
import requests
from telebot import types
from telebot.apihelper import ApiTelegramException

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x20"
    b"\x08\x02\x00\x00\x00" + b"\x00" * 32
)


@pytest.fixture
def ann(emu, token):
    """A user who has started the bot (so the bot may write to her)."""
    user = emu.create_user(first_name="Ann", username="ann")
    user.send_text(token, "/start")
    return user


def keyboard(*buttons) -> types.InlineKeyboardMarkup:
    kb = types.InlineKeyboardMarkup()
    kb.add(*[types.InlineKeyboardButton(text, callback_data=data) for text, data in buttons])
    return kb


def api_error(call) -> tuple[int, str, dict]:
    with pytest.raises(ApiTelegramException) as info:
        call()
    body = info.value.result_json
    assert body["ok"] is False
    return info.value.error_code, info.value.description, body


def test_get_me_describes_the_bot(bot, token):
    me = bot.get_me()
    assert me.is_bot and me.id == int(token.split(":")[0])
    assert me.username.endswith("bot")


def test_send_message_returns_the_message_with_entities_and_inline_keyboard(bot, ann):
    msg = bot.send_message(
        ann.id,
        "<b>Hi</b> <i>Ann</i> &amp; co",
        parse_mode="HTML",
        reply_markup=keyboard(("Go", "go:1")),
    )
    assert msg.text == "Hi Ann & co"
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 2),
        ("italic", 3, 3),
    ]
    assert msg.reply_markup.keyboard[0][0].callback_data == "go:1"
    assert msg.chat.id == ann.id and msg.from_user.is_bot


def test_reply_keyboard_and_its_removal_show_in_the_transcript(bot, emu, token, ann):
    kb = types.ReplyKeyboardMarkup(resize_keyboard=True, one_time_keyboard=True)
    kb.add(types.KeyboardButton("Share phone", request_contact=True), "Schedule")
    msg = bot.send_message(ann.id, "Menu", reply_markup=kb)
    assert msg.reply_markup is None  # Telegram never echoes reply keyboards
    bot.send_message(ann.id, "Gone", reply_markup=types.ReplyKeyboardRemove())
    markups = [e["reply_markup"] for e in emu.transcript(token, ann.id)]
    assert markups[0]["keyboard"][0][0] == {"text": "Share phone", "request_contact": True}
    assert markups[0]["one_time_keyboard"] is True
    assert markups[1] == {"remove_keyboard": True}


def test_edit_text_and_reply_markup_are_recorded_as_edits(bot, emu, token, ann):
    msg = bot.send_message(ann.id, "one", reply_markup=keyboard(("A", "a")))
    edited = bot.edit_message_text("two", ann.id, msg.message_id, reply_markup=keyboard(("B", "b")))
    assert edited.text == "two" and edited.edit_date
    bot.edit_message_reply_markup(ann.id, msg.message_id, reply_markup=keyboard(("C", "c")))
    kinds = [(e["kind"], e["text"]) for e in emu.transcript(token, ann.id)]
    assert kinds == [("message", "one"), ("edit", "two"), ("edit", "two")]
    assert (
        ann.current_message(token, msg.message_id)["reply_markup"]["inline_keyboard"][0][0][
            "callback_data"
        ]
        == "c"
    )


def test_delete_message_then_deleting_again_fails(bot, ann):
    msg = bot.send_message(ann.id, "bye")
    assert bot.delete_message(ann.id, msg.message_id) is True
    code, desc, _ = api_error(lambda: bot.delete_message(ann.id, msg.message_id))
    assert (code, desc) == (400, "Bad Request: message to delete not found")


def test_photo_and_document_uploads_keep_their_bytes(bot, emu, token, ann):
    photo = bot.send_photo(ann.id, ("card.png", PNG), caption="Your card")
    assert photo.caption == "Your card"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (16, 32)
    doc = bot.send_document(ann.id, b"hello", visible_file_name="report.txt")
    assert doc.document.file_name == "report.txt"
    events = emu.transcript(token, ann.id)
    assert events[0]["photo"]["bytes"] == PNG
    assert events[1]["document"]["bytes"] == b"hello"
    again = bot.send_photo(ann.id, photo.photo[-1].file_id)  # resend by file_id
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    assert bot.download_file(bot.get_file(doc.document.file_id).file_path) == b"hello"


def test_send_chat_action_and_its_validation(bot, ann):
    assert bot.send_chat_action(ann.id, "typing") is True
    code, desc, _ = api_error(lambda: bot.send_chat_action(ann.id, "dancing"))
    assert (code, desc) == (400, "Bad Request: wrong parameter action in request")


def test_commands_are_kept_per_scope_and_language(bot):
    default = [types.BotCommand("start", "Start"), types.BotCommand("help", "Help")]
    private_ru = [types.BotCommand("start", "Начать")]
    assert bot.set_my_commands(default) is True
    assert (
        bot.set_my_commands(
            private_ru, scope=types.BotCommandScopeAllPrivateChats(), language_code="ru"
        )
        is True
    )
    assert [c.command for c in bot.get_my_commands()] == ["start", "help"]
    ru = bot.get_my_commands(scope=types.BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.description for c in ru] == ["Начать"]
    assert bot.get_my_commands(scope=types.BotCommandScopeAllPrivateChats()) == []
    assert bot.delete_my_commands() is True
    assert bot.get_my_commands() == []


NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@pytest.mark.parametrize(
    ("call", "code", "description"),
    [
        (lambda b, u: b.send_message(u.id, ""), 400, "Bad Request: message text is empty"),
        (lambda b, u: b.send_message(u.id, "x" * 4097), 400, "Bad Request: message is too long"),
        (
            lambda b, u: b.send_message(u.id, "<b>bold", parse_mode="HTML"),
            400,
            "Bad Request: can't parse entities: "
            'Can\'t find end tag corresponding to start tag "b"',
        ),
        (
            lambda b, u: b.send_message(u.id, "a <x> b", parse_mode="HTML"),
            400,
            'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 2',
        ),
        (
            lambda b, u: b.send_message(u.id, "Price: 1.5", parse_mode="MarkdownV2"),
            400,
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with "
            "the preceding '\\'",
        ),
        (
            lambda b, u: b.send_message(u.id, "*bold", parse_mode="MarkdownV2"),
            400,
            "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
        ),
        (
            lambda b, u: b.send_message(u.id, "hi", reply_markup=keyboard(("x", "d" * 65))),
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        # pyTelegramBotAPI drops an empty callback_data, leaving a button without an action.
        (
            lambda b, u: b.send_message(u.id, "hi", reply_markup=keyboard(("x", ""))),
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        (lambda b, u: b.send_message(999, "hi"), 400, "Bad Request: chat not found"),
        (lambda b, u: b.answer_callback_query("12345"), 400, QUERY_TOO_OLD),
        (
            lambda b, u: b.edit_message_text("x", u.id, 424242),
            400,
            "Bad Request: message to edit not found",
        ),
    ],
    ids=[
        "empty",
        "too-long",
        "html-unclosed",
        "html-unsupported",
        "mdv2-reserved",
        "mdv2-unclosed",
        "callback-data-65-bytes",
        "button-without-action",
        "chat-not-found",
        "unknown-query",
        "edit-missing",
    ],
)
def test_validation_errors_use_telegrams_wording(bot, ann, call, code, description):
    got_code, got_desc, body = api_error(lambda: call(bot, ann))
    assert (got_code, got_desc) == (code, description)
    assert body["error_code"] == code


def test_a_4096_character_text_is_accepted(bot, ann):
    assert len(bot.send_message(ann.id, "я" * 4096).text) == 4096


def test_editing_to_identical_content_is_not_modified(bot, ann):
    msg = bot.send_message(ann.id, "same", reply_markup=keyboard(("A", "a")))
    code, desc, _ = api_error(
        lambda: bot.edit_message_text(
            "same", ann.id, msg.message_id, reply_markup=keyboard(("A", "a"))
        )
    )
    assert (code, desc) == (400, NOT_MODIFIED)
    # Dropping the keyboard is a change, as in Telegram.
    assert bot.edit_message_text("same", ann.id, msg.message_id).text == "same"


def test_callback_query_can_be_answered_once_with_at_most_200_characters(bot, emu, token, ann):
    msg = bot.send_message(ann.id, "pick", reply_markup=keyboard(("A", "a")))
    ann.press_button(token, msg.message_id, "a")
    update = bot.get_updates()[-1]
    query = update.callback_query
    assert query.message.message_id == msg.message_id and query.data == "a"
    code, desc, _ = api_error(lambda: bot.answer_callback_query(query.id, "x" * 201))
    assert (code, desc) == (400, "Bad Request: MESSAGE_TOO_LONG")
    assert bot.answer_callback_query(query.id, "Done", show_alert=True) is True
    code, desc, _ = api_error(lambda: bot.answer_callback_query(query.id))
    assert (code, desc) == (400, QUERY_TOO_OLD)
    answer = emu.transcript(token, ann.id)[-1]
    assert (answer["kind"], answer["text"], answer["show_alert"]) == (
        "callback_answer",
        "Done",
        True,
    )


def test_a_stale_callback_query_is_too_old(bot, emu, token, ann):
    emu.configure(callback_query_timeout=0.0)
    msg = bot.send_message(ann.id, "pick", reply_markup=keyboard(("A", "a")))
    ann.press_button(token, msg.message_id, "a")
    query = bot.get_updates()[-1].callback_query
    code, desc, _ = api_error(lambda: bot.answer_callback_query(query.id))
    assert (code, desc) == (400, QUERY_TOO_OLD)


def test_user_known_but_not_started_cannot_be_written_to(bot, emu):
    stranger = emu.create_user(first_name="Bob")
    code, desc, _ = api_error(lambda: bot.send_message(stranger.id, "hi"))
    assert (code, desc) == (403, "Forbidden: bot can't initiate conversation with a user")


def test_open_chats_lets_the_bot_write_to_users_who_sent_nothing(bot, emu, token):
    seeded = [emu.create_user(first_name=f"S{i}") for i in range(3)]
    emu.open_chats(token, seeded[:2])
    assert [bot.send_message(u.id, "hi").text for u in seeded[:2]] == ["hi", "hi"]
    assert api_error(lambda: bot.send_message(seeded[2].id, "hi"))[0] == 403
    assert [[m["text"] for m in u.read_messages(token)] for u in seeded[:2]] == [["hi"], ["hi"]]


@pytest.mark.parametrize(
    ("path", "status", "description"),
    [
        ("/botnot-a-token/getMe", 401, "Unauthorized"),
        ("/bot123:short/sendMessage", 401, "Unauthorized"),
        ("/bot{token}/noSuchMethod", 404, "Not Found"),
        ("/elsewhere", 404, "Not Found"),
    ],
)
def test_bad_token_and_unknown_method(emu, token, path, status, description):
    with requests.Session() as s:
        resp = s.get(emu.base_url + path.format(token=token), timeout=5)
    assert resp.status_code == status
    assert resp.json() == {"ok": False, "error_code": status, "description": description}


def test_parameters_arrive_by_query_form_json_and_multipart(emu, token, ann):
    base = f"{emu.base_url}/bot{token}/"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    emu.configure(per_chat_rate=None)
    with requests.Session() as s:
        by_query = s.get(base + "sendMessage", params={"chat_id": ann.id, "text": "q"}, timeout=5)
        by_form = s.post(
            base + "sendmessage",
            data={"chat_id": ann.id, "text": "f", "reply_markup": json.dumps(markup)},
            timeout=5,
        )
        by_json = s.post(
            base + "sendMessage",
            json={"chat_id": ann.id, "text": "j", "reply_markup": markup},
            timeout=5,
        )
        by_multipart = s.post(
            base + "sendPhoto",
            params={"chat_id": ann.id},
            files={"photo": ("p.png", PNG, "image/png")},
            data={"caption": "m"},
            timeout=5,
        )
    results = [r.json()["result"] for r in (by_query, by_form, by_json, by_multipart)]
    assert [r.get("text", r.get("caption")) for r in results] == ["q", "f", "j", "m"]
    assert results[1]["reply_markup"] == markup == results[2]["reply_markup"]
    assert emu.transcript(token, ann.id)[-1]["photo"]["bytes"] == PNG


def test_several_bots_share_one_emulator_with_separate_state(emu, api):
    import telebot

    from tests.tgemu.conftest import new_token

    t1, t2 = new_token(), new_token()
    b1, b2 = telebot.TeleBot(t1, threaded=False), telebot.TeleBot(t2, threaded=False)
    ann = emu.create_user(first_name="Ann")
    ann.send_text(t1, "to one")
    ann.send_text(t2, "to two")
    ann.send_text(t2, "to two again")
    assert [u.message.text for u in b1.get_updates()] == ["to one"]
    assert [u.message.text for u in b2.get_updates()] == ["to two", "to two again"]
    b1.send_message(ann.id, "from one")
    assert [e["text"] for e in emu.transcript(t1, ann.id)] == ["from one"]
    assert emu.transcript(t2, ann.id) == []
    assert {b.token for b in emu.bots()} == {t1, t2}

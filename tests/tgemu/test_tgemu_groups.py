"""Groups, supergroups and channels: ids, membership updates, messages, 403s, leaveChat."""

import pytest
from telebot import types
from telebot.apihelper import ApiTelegramException


def _api_error(call) -> tuple[int, str]:
    with pytest.raises(ApiTelegramException) as info:
        call()
    return info.value.error_code, info.value.description


@pytest.fixture
def people(emu):
    return [emu.create_user(first_name=n) for n in ("Ann", "Bob", "Cy")]


@pytest.mark.parametrize(
    ("supergroup", "kind", "prefix", "digits"),
    [(False, "group", "-4", 11), (True, "supergroup", "-100", 14)],
)
def test_groups_have_telegram_shaped_negative_ids(emu, people, supergroup, kind, prefix, digits):
    group = emu.create_group("Gym", members=people, supergroup=supergroup)
    assert group.type == kind
    assert str(group.id).startswith(prefix) and len(str(group.id)) == digits
    assert [u.id for u in group.members()] == [u.id for u in people]
    assert group.member_status(people[0]) == "creator"
    assert emu.group(group.id).id == group.id


@pytest.mark.parametrize(
    ("supergroup", "admin", "status"),
    [(False, False, "member"), (True, False, "member"), (True, True, "administrator")],
)
def test_adding_the_bot_sends_my_chat_member_and_the_join_message(
    bot, emu, token, people, supergroup, admin, status
):
    ann = people[0]
    group = emu.create_group("Gym", members=people, supergroup=supergroup)
    uid = group.add_bot(token, by=ann, administrator=admin)
    member_update, join = bot.get_updates()
    assert member_update.update_id == uid
    change = member_update.my_chat_member
    assert (change.chat.id, change.chat.type, change.chat.title) == (group.id, group.type, "Gym")
    assert change.from_user.id == ann.id
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("left", status)
    assert change.new_chat_member.user.id == bot.get_me().id
    assert [m.id for m in join.message.new_chat_members] == [bot.get_me().id]
    assert join.message.chat.id == group.id


@pytest.mark.parametrize(("supergroup", "status"), [(False, "left"), (True, "kicked")])
def test_removing_the_bot_sends_my_chat_member_and_sends_are_refused(
    bot, emu, token, people, supergroup, status
):
    group = emu.create_group("Gym", members=people, supergroup=supergroup)
    group.add_bot(token)
    bot.send_message(group.id, "hello all")
    group.remove_bot(token, by=people[1])
    change = bot.get_updates()[-1].my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", status)
    assert change.from_user.id == people[1].id
    verb = "is not a member of" if status == "left" else "was kicked from"
    assert _api_error(lambda: bot.send_message(group.id, "still here?")) == (
        403,
        f"Forbidden: bot {verb} the {group.type} chat",
    )


@pytest.mark.parametrize(
    ("supergroup", "description"),
    [
        (False, "Forbidden: bot is not a member of the group chat"),
        (True, "Forbidden: bot is not a member of the supergroup chat"),
    ],
)
def test_a_group_the_bot_is_not_in_is_forbidden(bot, emu, people, supergroup, description):
    group = emu.create_group("Gym", members=people, supergroup=supergroup)
    assert _api_error(lambda: bot.send_message(group.id, "hi")) == (403, description)


def test_an_unknown_negative_chat_is_not_found(bot):
    assert _api_error(lambda: bot.send_message(-4999999999, "hi")) == (
        400,
        "Bad Request: chat not found",
    )


def test_messages_from_several_members_reach_a_bot_without_privacy_mode(bot, emu, token, people):
    emu.add_bot(token, privacy_mode=False)
    ann, bob, _ = people
    group = emu.create_group("Gym", members=people, supergroup=True)
    group.add_bot(token)
    bot.get_updates(offset=-1)
    first = group.send_text(token, ann, "morning")
    second = group.send_text(token, bob, "/help@other_bot")
    updates = bot.get_updates(offset=first)
    assert [u.update_id for u in updates] == [first, second]
    texts = [(u.message.from_user.first_name, u.message.chat.id, u.message.text) for u in updates]
    assert texts == [("Ann", group.id, "morning"), ("Bob", group.id, "/help@other_bot")]
    entity = updates[1].message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 15)
    assert bot.get_me().can_read_all_group_messages is True


def test_privacy_mode_lets_through_only_what_is_meant_for_the_bot(bot, emu, token, people):
    emu.add_bot(token, username="club_bot")
    ann, bob, cy = people
    group = emu.create_group("Gym", members=people)
    group.add_bot(token)
    hello = bot.send_message(group.id, "I am here")
    assert group.send_text(token, ann, "just chatting") is None
    assert group.send_text(token, bob, "/help@other_bot") is None
    assert group.send_text(token, bob, "/help@club_bot") is not None
    assert group.send_text(token, cy, "/help") is not None
    assert group.send_text(token, ann, "thanks", reply_to=hello.message_id) is not None
    texts = [u.message.text for u in bot.get_updates() if u.message and u.message.text]
    assert texts == ["/help@club_bot", "/help", "thanks"]
    assert bot.get_me().can_read_all_group_messages is False
    events = group.transcript(token, include_user=True)
    assert sum(e["kind"] == "message" and e["from"] == "user" for e in events) == 6


def test_the_bot_writes_to_a_group_and_it_shows_in_the_transcript(bot, emu, token, people):
    group = emu.create_group("Gym", members=people, supergroup=True)
    group.add_bot(token)
    sent = bot.send_message(group.id, "<b>Classes</b> today", parse_mode="HTML")
    assert (sent.chat.id, sent.chat.type, sent.from_user.id) == (
        group.id,
        "supergroup",
        bot.get_me().id,
    )
    (seen,) = group.wait_for_messages(token, count=1, timeout=5)
    assert seen["text"] == "Classes today" and seen["entities"][0]["type"] == "bold"
    assert [e["kind"] for e in group.transcript(token)] == ["message"]
    info = bot.get_chat(group.id)
    assert (info.id, info.type, info.title) == (group.id, "supergroup", "Gym")


def test_leave_chat_removes_the_bot_and_sends_my_chat_member(bot, emu, token, people):
    group = emu.create_group("Gym", members=people)
    group.add_bot(token)
    bot.get_updates(offset=-1)
    assert bot.leave_chat(group.id) is True
    change = bot.get_updates()[-1].my_chat_member
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "left")
    assert change.from_user.id == bot.get_me().id
    assert group.bot_status(token) == "left"
    assert _api_error(lambda: bot.send_message(group.id, "bye")) == (
        403,
        "Forbidden: bot is not a member of the group chat",
    )
    with pytest.raises(RuntimeError):
        group.send_text(token, people[0], "/start")


def test_anonymous_admin_posts_as_the_group(bot, emu, token, people):
    emu.add_bot(token, privacy_mode=False)
    group = emu.create_group("Gym", members=people, supergroup=True)
    group.add_bot(token)
    bot.get_updates(offset=-1)
    uid = group.send_anonymous(token, "/help")
    (update,) = bot.get_updates(offset=uid)
    msg = update.message
    assert (msg.from_user.id, msg.from_user.username) == (1087968824, "GroupAnonymousBot")
    assert (msg.sender_chat.id, msg.sender_chat.type) == (group.id, "supergroup")


def test_a_member_presses_a_button_in_the_group(bot, emu, token, people):
    group = emu.create_group("Gym", members=people)
    group.add_bot(token)
    kb = types.InlineKeyboardMarkup()
    kb.add(types.InlineKeyboardButton("Join", callback_data="join"))
    msg = bot.send_message(group.id, "Yoga at 7?", reply_markup=kb)
    uid = group.press_button(token, people[1], msg.message_id, "join")
    query = bot.get_updates(offset=uid)[0].callback_query
    assert (query.from_user.id, query.message.chat.id, query.data) == (
        people[1].id,
        group.id,
        "join",
    )
    assert bot.answer_callback_query(query.id, "ok") is True


def test_user_send_text_to_reaches_a_group_and_the_private_chat(bot, emu, token, people):
    emu.add_bot(token, privacy_mode=False)
    ann = people[0]
    group = emu.create_group("Gym", members=people)
    group.add_bot(token)
    bot.get_updates(offset=-1)
    in_group = ann.send_text_to(token, group.id, "hi all")
    private = ann.send_text_to(token, ann.id, "hi bot")
    updates = bot.get_updates(offset=in_group)
    assert [(u.message.chat.id, u.message.text) for u in updates] == [
        (group.id, "hi all"),
        (ann.id, "hi bot"),
    ]
    assert updates[1].update_id == private
    assert emu.unanswered(token) == [private]  # group messages expect no answer


def test_a_channel_post_reaches_the_admin_bot_without_from(bot, emu, token, people):
    owner = people[0]
    channel = emu.create_channel("Club news", owner=owner, username="club_news")
    assert str(channel.id).startswith("-100")
    assert _api_error(lambda: bot.send_message(channel.id, "hi")) == (
        403,
        "Forbidden: bot is not a member of the channel chat",
    )
    channel.add_bot(token)
    join = bot.get_updates()[-1].my_chat_member
    assert (join.chat.type, join.new_chat_member.status) == ("channel", "administrator")
    assert join.new_chat_member.can_post_messages is True
    uid = channel.post(token, "Pool closed on Monday", author_signature="Ann")
    post = bot.get_updates(offset=uid)[0].channel_post
    assert post.from_user is None
    assert (post.sender_chat.id, post.chat.id, post.text) == (
        channel.id,
        channel.id,
        "Pool closed on Monday",
    )
    assert post.author_signature == "Ann"
    edited = channel.edit_post(token, channel.last_post_id(token), "Pool open on Monday")
    edit = bot.get_updates(offset=edited)[0].edited_channel_post
    assert (edit.message_id, edit.text) == (post.message_id, "Pool open on Monday")
    sent = bot.send_message("@club_news", "From the bot")
    assert sent.from_user is None and sent.sender_chat.id == channel.id
    assert emu.unanswered(token) == []


def test_groups_and_channels_over_the_control_api(bot, emu, token):
    from tgemu.client import ControlApiError, RemoteEmulator

    emu.add_bot(token, privacy_mode=False)
    with RemoteEmulator(emu.base_url) as remote:
        ann = remote.create_user(first_name="Ann")
        bob = remote.create_user(first_name="Bob")
        group = remote.create_group("Gym", members=[ann], supergroup=True)
        group.add_member(bob)
        assert group.add_bot(token, by=ann, administrator=True) is not None
        said = group.send_text(token, bob, "morning")
        anonymous = group.send_anonymous(token, "notice")
        channel = remote.create_channel("News", owner=ann)
        channel.add_bot(token)
        posted = channel.post(token, "Pool closed")
        with pytest.raises(ControlApiError) as refused:
            group.send_text(token, remote.create_user(first_name="Cy"), "not a member")
        assert refused.value.status == 409
    updates = {u.update_id: u for u in bot.get_updates()}
    assert updates[said].message.from_user.first_name == "Bob"
    assert updates[anonymous].message.sender_chat.id == group.id
    assert updates[posted].channel_post.chat.id == channel.id
    assert emu.group(group.id).member_status(emu.user(bob.id)) == "member"
    assert emu.group(group.id).bot_status(token) == "administrator"

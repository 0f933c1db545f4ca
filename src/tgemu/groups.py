"""Groups, supergroups and channels as one bot sees them: membership, messages, posts.

Telegram's privacy mode (on by default, as for a new bot) decides which group messages reach
the bot: commands meant for it (`/cmd@this_bot`, or a bare `/cmd` unless another bot spoke
last in the group), replies to its messages and service messages. With privacy mode off, or
as an administrator, it gets every message. Channel posts reach an administrator bot.
"""

import time

from tgemu.errors import bad_request, forbidden
from tgemu.model import GROUP_ANONYMOUS_BOT, GROUP_KINDS, Chat, Msg, to_int

IN = ("member", "administrator")


class GroupsMixin:
    """The group and channel half of Bot."""

    def group_chat(self, data) -> Chat:
        """This bot's view of a group or channel, created on first use. Lock held."""
        chat = self.chats.get(data.id)
        if chat is None:
            chat = self.chats[data.id] = Chat(self, data)
        return chat

    def _group_target(self, data, sending: bool) -> Chat:
        chat = self.group_chat(data)
        if chat.status == "kicked":
            raise forbidden(f"bot was kicked from the {data.label}")
        if chat.status not in IN:
            raise forbidden(f"bot is not a member of the {data.label}")
        if sending and data.type == "channel" and chat.status != "administrator":
            raise bad_request("need administrator rights in the channel chat")
        return chat

    def _member(self, status: str, chat_type: str, user: dict | None = None) -> dict:
        """A ChatMember (this bot unless user is given) with the given status."""
        out = {"user": user or self.user_dict(), "status": status}
        if status == "kicked":
            out["until_date"] = 0
        elif status == "administrator":
            out.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
            )
            if chat_type == "channel":
                out.update(can_post_messages=True, can_edit_messages=True)
            else:
                out["can_pin_messages"] = True
            if chat_type == "supergroup":
                out["can_manage_topics"] = False
        return out

    def set_status(self, chat: Chat, status: str, by: dict) -> int | None:
        """Change the bot's membership and send it my_chat_member; None if nothing changed.

        Joining a group or supergroup also brings the `new_chat_members` service message.
        """
        old = chat.status
        if old == status:
            return None
        chat.status = status
        now = int(time.time())
        chat.events.append(
            {"kind": "membership", "from": "user", "old": old, "new": status, "time": time.time()}
        )
        update = {
            "chat": chat.as_chat(),
            "from": by,
            "date": now,
            "old_chat_member": self._member(old, chat.type),
            "new_chat_member": self._member(status, chat.type),
        }
        uid = self.push_update(chat, "my_chat_member", update, expects_answer=False)
        if chat.type in GROUP_KINDS and old not in IN and status in IN:
            me = self.user_dict()
            service = {"new_chat_participant": me, "new_chat_member": me, "new_chat_members": [me]}
            self._group_message(chat, by, service)
        chat.changed()
        return uid

    def api_leavechat(self, p):
        with self.lock:
            chat = self._target_chat(p, sending=False)
            if chat.private:
                raise bad_request("chat member status can't be changed in private chats")
            self.set_status(chat, "left", self.user_dict())
            return True

    def _group_message(self, chat: Chat, sender: dict, content: dict, sender_chat=False):
        """Record a message of a member in a group; returns (message, update_id or None)."""
        mid = chat.next_message_id
        chat.next_message_id += 1
        msg = {"message_id": mid, "from": sender}
        if sender_chat:
            msg["sender_chat"] = chat.as_chat()
        msg.update({"chat": chat.as_chat(), "date": int(time.time()), **content})
        chat.messages[mid] = Msg(mid, False, msg)
        chat.events.append(
            {
                "kind": "message",
                "from": "user",
                "message_id": mid,
                "time": time.time(),
                "message": msg,
                "text": content.get("text"),
            }
        )
        chat.changed()
        if not self._sees(chat, msg):
            return msg, None
        return msg, self.push_update(chat, "message", msg, expects_answer=False)

    def member_message(self, chat: Chat, sender: dict, content: dict, anonymous=False):
        """A member (or an anonymous administrator) writes in a group. Lock held."""
        if chat.status not in IN:
            raise RuntimeError(f"bot {self.username} is not a member of chat {chat.id}")
        reply_to = content.pop("reply_to_message_id", None)
        if reply_to is not None:
            msg = chat.messages.get(int(reply_to))
            if msg is None or msg.deleted:
                raise LookupError(f"no message {reply_to} in chat {chat.id}")
            content["reply_to_message"] = msg.data
        if anonymous:
            sender = dict(GROUP_ANONYMOUS_BOT)
        return self._group_message(chat, sender, content, sender_chat=anonymous)[1]

    def _sees(self, chat: Chat, msg: dict) -> bool:
        """Whether privacy mode lets this group message through to the bot."""
        if not self.privacy_mode or chat.status == "administrator":
            return True
        if "text" not in msg:
            return "new_chat_members" in msg or "left_chat_member" in msg or _replies_to(msg, self)
        if _replies_to(msg, self):
            return True
        for e in msg.get("entities") or ():
            if e["type"] == "bot_command" and e["offset"] == 0:
                command = msg["text"][: e["length"]]
                if "@" in command:
                    return command.split("@", 1)[1].lower() == self.username.lower()
                return chat.peer.last_bot_id in (None, self.id)
        return False

    def channel_post(self, chat: Chat, content: dict, author_signature=None) -> int | None:
        """A post in a channel; reaches the bot when it is an administrator. Lock held."""
        if chat.status != "administrator":
            raise RuntimeError(f"bot {self.username} is not an administrator of {chat.id}")
        mid = chat.next_message_id
        chat.next_message_id += 1
        msg = {"message_id": mid, "sender_chat": chat.as_chat(), "chat": chat.as_chat()}
        msg.update({"date": int(time.time()), **content})
        if author_signature:
            msg["author_signature"] = author_signature
        chat.messages[mid] = Msg(mid, False, msg)
        chat.events.append(
            {
                "kind": "message",
                "from": "user",
                "message_id": mid,
                "time": time.time(),
                "message": msg,
                "text": content.get("text"),
            }
        )
        chat.changed()
        return self.push_update(chat, "channel_post", msg, expects_answer=False)

    def edit_channel_post(self, chat: Chat, message_id: int, content: dict) -> int | None:
        """An edit of a channel post; the bot gets edited_channel_post. Lock held."""
        old = chat.messages.get(message_id)
        if old is None or old.deleted or old.from_bot:
            raise LookupError(f"no post {message_id} in channel {chat.id}")
        new = {k: v for k, v in old.data.items() if k not in ("text", "entities")}
        new.update(content)
        new["edit_date"] = int(time.time())
        old.data = new
        old.edited = True
        chat.events.append(
            {
                "kind": "edit",
                "from": "user",
                "message_id": message_id,
                "time": time.time(),
                "message": new,
                "text": new.get("text"),
            }
        )
        chat.changed()
        if chat.status != "administrator":
            return None
        return self.push_update(chat, "edited_channel_post", new, expects_answer=False)

    def group_info(self, chat: Chat) -> dict:
        """getChat's answer for a group, supergroup or channel."""
        out = {**chat.as_chat(), "accent_color_id": 0, "max_reaction_count": 11}
        if chat.type in GROUP_KINDS:
            out["permissions"] = {
                "can_send_messages": True,
                "can_send_audios": True,
                "can_send_documents": True,
                "can_send_photos": True,
                "can_send_videos": True,
                "can_send_video_notes": True,
                "can_send_voice_notes": True,
                "can_send_polls": True,
                "can_send_other_messages": True,
                "can_add_web_page_previews": True,
                "can_change_info": False,
                "can_invite_users": True,
                "can_pin_messages": False,
                "can_manage_topics": False,
            }
        return out

    def api_getchatmember(self, p):
        with self.lock:
            chat = self._target_chat(p, sending=False)
            user_id = to_int(p.get("user_id"), "invalid user_id specified")
            if user_id == self.id:
                return self._member(chat.status, chat.type)
            if chat.private:
                if user_id != chat.id:
                    raise bad_request("user not found")
                return {"user": chat.user.as_user(), "status": "member"}
            status = chat.peer.members.get(user_id)
            user = self.emu.user_data(user_id)
            if user is None:
                raise bad_request("user not found")
            out = self._member(status or "left", chat.type, user.as_user())
            if status == "creator":
                out["is_anonymous"] = False
            return out


def _replies_to(msg: dict, bot) -> bool:
    reply = msg.get("reply_to_message")
    return isinstance(reply, dict) and (reply.get("from") or {}).get("id") == bot.id

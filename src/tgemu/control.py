"""The HTTP control API under /control/: drive simulated users and read what the bot did.

Every answer is JSON ({"ok": true, ...} or {"ok": false, "error": "..."}) except file
downloads. Where a request omits "token", the first registered bot is used. See README.md.
"""

import base64
import json
import urllib.parse

from tgemu.files import guess_mime

_USER_ACTIONS = {
    "send_text",
    "send_contact",
    "send_location",
    "send_photo",
    "send_document",
    "press_button",
    "block",
    "unblock",
    "wait_for_messages",
    "read_messages",
    "skip_messages",
    "pay",
}


_GROUP_ACTIONS = {
    "add_bot",
    "remove_bot",
    "add_member",
    "send_text",
    "press_button",
    "post",
    "edit_post",
}


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def handle(emu, method: str, path: str, query: str, body: bytes):
    """Route one control request; returns (status, JSON-able object or bytes, content type)."""
    args = dict(urllib.parse.parse_qsl(query))
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if isinstance(data, dict):
            args.update(data)
    parts = [p for p in path.split("/") if p][1:]  # drop "control"
    try:
        if parts and parts[0] == "files" and len(parts) == 2:
            rec = emu.files.get(urllib.parse.unquote(parts[1]))
            if rec is None or rec.data is None:
                raise ControlError(404, "no such file (or it was sent by URL)")
            return 200, rec.data, rec.mime_type or guess_mime(rec.data, rec.file_name)
        return 200, {"ok": True, **_route(emu, method, parts, args)}, "application/json"
    except ControlError as exc:
        return exc.status, {"ok": False, "error": str(exc)}, "application/json"
    except TimeoutError as exc:
        return 408, {"ok": False, "error": str(exc)}, "application/json"
    except (LookupError, RuntimeError) as exc:
        return 409, {"ok": False, "error": str(exc).strip("'\"")}, "application/json"
    except (TypeError, ValueError) as exc:
        return 400, {"ok": False, "error": str(exc)}, "application/json"


def _token(emu, args) -> str:
    token = args.get("token")
    if token:
        emu.add_bot(token)
        return token
    bots = emu.bots()
    if not bots:
        raise ControlError(400, 'no bot known yet: pass "token"')
    return bots[0].token


def _route(emu, method, parts, args) -> dict:  # noqa: PLR0911, PLR0912 - one branch per endpoint
    post = method == "POST"
    match parts:
        case ["bots"] if post:
            bot = emu.add_bot(args["token"], args.get("username"), args.get("first_name"))
            return {"bot": _bot(bot)}
        case ["bots"]:
            return {"bots": [_bot(b) for b in emu.bots()]}
        case ["users"] if post:
            user = emu.create_user(
                first_name=args.get("first_name") or "User",
                last_name=args.get("last_name"),
                username=args.get("username"),
                language_code=args.get("language_code") or "en",
                user_id=int(args["id"]) if args.get("id") else None,
                phone_number=args.get("phone_number"),
            )
            return {"user": user.data.as_user()}
        case ["users"]:
            return {"users": [u.data.as_user() for u in emu.users()]}
        case ["users", uid, action] if post and action in _USER_ACTIONS:
            return _user_action(emu, int(uid), action, args)
        case ["transcript"]:
            events = emu.transcript(
                _token(emu, args),
                int(args.get("chat_id") or args["user_id"]),
                include_user=_flag(args.get("include_user")),
            )
            return {"events": [_jsonable(e) for e in events]}
        case ["chat"]:
            return emu.chat_state(
                _token(emu, args),
                int(args["user_id"]),
                int(args.get("version", -1)),
                min(30.0, float(args.get("timeout", 0))),
                int(args["chat_id"]) if args.get("chat_id") else None,
            )
        case ["stats"]:
            return {"stats": emu.stats(_token(emu, args))}
        case ["latencies"]:
            token = _token(emu, args)
            return {
                "latencies": {str(k): v for k, v in emu.latencies(token).items()},
                "percentiles": emu.latency_percentiles(token),
                "unanswered": emu.unanswered(token),
            }
        case ["wait_answered"] if post:
            latency = emu.wait_answered(
                _token(emu, args), int(args["update_id"]), float(args.get("timeout", 10))
            )
            return {"latency": latency}
        case ["inject"] if post:
            update = args.get("update")
            if not isinstance(update, dict):
                raise ControlError(400, '"update" must be a JSON object')
            return {"update_id": emu.inject_update(_token(emu, args), update)}
        case ["redeliver"] if post:
            try:
                update_id = int(args["update_id"])
            except (KeyError, TypeError, ValueError):
                raise ControlError(400, '"update_id" must be an integer') from None
            same_id = _flag(args.get("same_id", True))
            return {"update_id": emu.redeliver(_token(emu, args), update_id, same_id)}
        case ["checkouts"]:
            token = _token(emu, args)
            return {
                "checkouts": emu.checkouts(token),
                "percentiles": emu.checkout_percentiles(token),
            }
        case ["next_update_id"] if post:
            try:
                emu.set_next_update_id(_token(emu, args), int(args["update_id"]))
            except (KeyError, TypeError, ValueError):
                raise ControlError(400, '"update_id" must be a positive integer') from None
            return {"update_id": int(args["update_id"])}
        case ["commands"]:
            commands = emu.commands_for(
                _token(emu, args),
                int(args["chat_id"]),
                args.get("language_code") or None,
                int(args["user_id"]) if args.get("user_id") else None,
            )
            return {"commands": commands}
        case ["groups"] if post:
            return {"group": _group(_create_group(emu, args))}
        case ["groups"]:
            member = int(args["user_id"]) if args.get("user_id") else None
            groups = [g for g in emu.groups() if member is None or member in g.data.members]
            return {"groups": [_group(g) for g in groups]}
        case ["groups", gid, action] if post and action in _GROUP_ACTIONS:
            return _group_action(emu, int(gid), action, args)
        case ["config"] if post:
            changes = {k: v for k, v in args.items() if k != "token"}
            return {"config": emu.configure(**changes)}
        case ["config"]:
            return {"config": emu.config.as_dict()}
    raise ControlError(404, f"no control endpoint {method} /control/{'/'.join(parts)}")


def _user_action(emu, uid: int, action: str, args: dict) -> dict:  # noqa: PLR0911, PLR0912
    try:
        user = emu.user(uid)
    except KeyError:
        raise ControlError(404, f"no simulated user {uid}") from None
    token = _token(emu, args)
    match action:
        case "send_text":
            return {"update_id": user.send_text(token, str(args["text"]))}
        case "send_contact":
            return {
                "update_id": user.send_contact(token, args.get("phone"), args.get("first_name"))
            }
        case "send_location":
            return {
                "update_id": user.send_location(
                    token, float(args["latitude"]), float(args["longitude"])
                )
            }
        case "send_photo":
            data = base64.b64decode(args["data_base64"])
            return {"update_id": user.send_photo(token, data, args.get("caption"))}
        case "send_document":
            data = base64.b64decode(args["data_base64"])
            return {
                "update_id": user.send_document(
                    token,
                    data,
                    args.get("file_name") or "file.bin",
                    args.get("mime_type") or "application/octet-stream",
                    args.get("caption"),
                )
            }
        case "press_button":
            return {
                "update_id": user.press_button(
                    token, int(args["message_id"]), str(args["callback_data"])
                )
            }
        case "block":
            return {"update_id": user.block(token)}
        case "unblock":
            return {"update_id": user.unblock(token)}
        case "wait_for_messages":
            messages = user.wait_for_messages(
                token, int(args.get("count", 1)), float(args.get("timeout", 10))
            )
            return {"messages": messages}
        case "read_messages":
            return {"messages": user.read_messages(token)}
        case "pay":
            payment = emu.pay(
                token,
                uid,
                int(args["message_id"]),
                decline=_flag(args.get("decline")),
                tip=int(args.get("tip") or 0),
            )
            return {"payment": payment}
        case _:
            return {"skipped": user.skip_messages(token)}


def _create_group(emu, args):
    members = [emu.user(int(uid)) for uid in args.get("members") or ()]
    kind = args.get("type") or "group"
    if kind == "channel":
        owner = members[0] if members else None
        return emu.create_channel(args["title"], owner=owner, username=args.get("username"))
    if kind not in ("group", "supergroup"):
        raise ControlError(400, 'type must be "group", "supergroup" or "channel"')
    return emu.create_group(
        args["title"], members, supergroup=kind == "supergroup", username=args.get("username")
    )


def _group_action(emu, gid: int, action: str, args: dict) -> dict:  # noqa: PLR0911
    try:
        group = emu.group(gid)
    except KeyError:
        raise ControlError(404, f"no group or channel {gid}") from None
    if action in ("post", "edit_post") and group.type != "channel":
        raise ControlError(400, f"{action} is for channels; {gid} is a {group.type}")
    user = emu.user(int(args["user_id"])) if args.get("user_id") else None
    if action == "add_member":
        group.add_member(user, args.get("status") or "member")
        return {"group": _group(group)}
    token = _token(emu, args)
    match action:
        case "add_bot":
            admin = _flag(args.get("administrator"))
            return {"update_id": group.add_bot(token, by=user, administrator=admin)}
        case "remove_bot":
            return {"update_id": group.remove_bot(token, by=user)}
        case "send_text":
            reply_to = int(args["reply_to"]) if args.get("reply_to") else None
            if user is None:
                return {"update_id": group.send_anonymous(token, str(args["text"]), reply_to)}
            return {"update_id": group.send_text(token, user, str(args["text"]), reply_to)}
        case "press_button":
            return {
                "update_id": group.press_button(
                    token, user, int(args["message_id"]), str(args["callback_data"])
                )
            }
        case "post":
            return {"update_id": group.post(token, str(args["text"]), args.get("author_signature"))}
        case _:
            return {"update_id": group.edit_post(token, int(args["message_id"]), str(args["text"]))}


def _group(group) -> dict:
    return {**group.data.as_chat(), "members": {str(k): v for k, v in group.data.members.items()}}


def _bot(bot) -> dict:
    return {
        "token": bot.token,
        "id": bot.id,
        "username": bot.username,
        "first_name": bot.first_name,
        "webhook_url": bot.webhook.url if bot.webhook is not None else "",
    }


def _flag(value) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def _jsonable(event: dict) -> dict:
    """File bytes become base64 under "bytes_base64"."""
    out = dict(event)
    for key in ("photo", "document"):
        info = out.get(key)
        if isinstance(info, dict) and "bytes" in info:
            info = dict(info)
            raw = info.pop("bytes")
            info["bytes_base64"] = base64.b64encode(raw).decode() if raw is not None else None
            out[key] = info
    return out

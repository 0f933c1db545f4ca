"""tgemu: a local Telegram Bot API emulator with simulated users, a web chat and a load driver."""

from tgemu.config import Config
from tgemu.emulator import Channel, Emulator, Group, SimUser, percentiles
from tgemu.errors import ApiError

__all__ = ["ApiError", "Channel", "Config", "Emulator", "Group", "SimUser", "percentiles"]

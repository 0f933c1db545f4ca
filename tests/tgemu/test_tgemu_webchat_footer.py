"""The web chat's footer stays on screen with any command list: long descriptions (an admin's
Russian list, and Telegram's longest) neither widen the page nor push ☎, 📍 and Block out of
sight. Headless Chromium at a phone's width and a desktop's."""

import pytest
from telebot import types

from fitclub.commands import ADMIN, command_list
from fitclub.locales import Texts
from tests.tgemu.test_tgemu_webchat import browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.xdist_group("chromium")  # one worker runs the browser

FOOTER = ("commands", "text-input", "send-btn", "photo-btn", "contact-btn", "location-btn",
          "block-btn")
MEASURE = """
const ids = arguments[0];
const root = document.documentElement;
const footer = document.querySelector("footer");
return {
  window: window.innerWidth,
  viewport: root.clientWidth,
  page: Math.max(root.scrollWidth, document.body.scrollWidth),
  footer: [footer.clientWidth, footer.scrollWidth],
  boxes: Object.fromEntries(ids.map((id) => {
    const r = document.getElementById(id).getBoundingClientRect();
    return [id, [r.left, r.right, r.width]];
  })),
  options: document.getElementById("commands").options.length,
};
"""


def _admin_list() -> list[types.BotCommand]:
    """The bot's admin list in Russian, its longest description made Telegram's longest."""
    listed = command_list(Texts("ru"), ADMIN)
    listed[-2]["description"] = ("Очень длинное описание команды, " * 9)[:256]
    return [types.BotCommand(c["command"], c["description"]) for c in listed]


@pytest.mark.parametrize("width", [400, 900])
def test_the_footer_stays_on_screen_with_a_long_command_list(browser, emu, token, bot,  # noqa: F811
                                                             width):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    emu.add_bot(token, username="club_test_bot")
    ada = emu.create_user(first_name="Ada", language_code="ru")
    commands = _admin_list()
    bot.set_my_commands(commands, scope=types.BotCommandScopeChat(ada.id))
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    wait = WebDriverWait(browser, 20)
    browser.get(emu.base_url + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-select"), "Ada"))
    wait.until(lambda d: d.execute_script(MEASURE, FOOTER)["options"] == len(commands) + 1)

    seen = browser.execute_script(MEASURE, FOOTER)
    assert seen["window"] == width
    assert seen["viewport"] == width, f"a scroll bar takes room: {seen}"
    assert seen["page"] <= width, f"the page scrolls sideways: {seen}"
    assert seen["footer"][1] <= seen["footer"][0], f"the footer overflows: {seen}"
    for name, (left, right, size) in seen["boxes"].items():
        assert size > 0 and left >= 0 and right <= width, f"{name} is off screen: {seen}"
    assert seen["boxes"]["text-input"][2] >= 60, "room to type is left"

    # The list is still whole: every command, its description cut short with an ellipsis
    # when long and given in full as the option's tooltip.
    options = browser.find_elements(By.CSS_SELECTOR, "#commands option")[1:]
    assert [o.get_attribute("value") for o in options] == ["/" + c.command for c in commands]
    for option, command in zip(options, commands, strict=True):
        full = f"/{command.command} — {command.description}"
        shown = option.get_attribute("textContent")
        assert option.get_attribute("title") == full
        assert shown == full or (shown.endswith("…") and full.startswith(shown[:-1]))
    assert options[-2].get_attribute("textContent").endswith("…")

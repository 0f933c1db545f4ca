"""The web chat, driven in headless Chromium against the echo bot."""

import shutil
import tempfile

import pytest

from tools import browser as browser_tools

pytestmark = pytest.mark.xdist_group("chromium")  # one worker runs the browser


def ensure_chromium() -> str:
    """Debian's chromium: `make test` installed it before pytest (tools/browser.py); run
    alone, pytest installs it here. Skipped with the reason when that cannot be done."""
    if browser_tools.chromium() is None and browser_tools.REASON_FILE.exists():
        pytest.skip(f"chromium is missing: {browser_tools.REASON_FILE.read_text()}")
    try:
        return browser_tools.ensure()
    except browser_tools.InstallError as exc:
        pytest.skip(f"chromium is missing: {exc}")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = ensure_chromium()
    profile = tempfile.mkdtemp(prefix="tgemu-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(browser_tools.CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_user_starts_the_bot_and_presses_an_inline_button(browser, emu, token, echo_bot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    emu.add_bot(token, username="echo_test_bot")
    wait = WebDriverWait(browser, 20)
    browser.get(emu.base_url + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "bot-select"), "@echo_test_bot"))
    browser.find_element(By.ID, "new-user-name").send_keys("Ann")
    browser.find_element(By.ID, "new-user-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-select"), "Ann"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "connected"))

    box = browser.find_element(By.ID, "text-input")
    box.send_keys("/start", Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".msg.bot .text"), "Hello, Ann!"))
    assert browser.find_element(By.CSS_SELECTOR, ".msg.user .text").text == "/start"

    button = wait.until(
        ec.element_to_be_clickable(
            (By.CSS_SELECTOR, '.msg.bot .inline-btn[data-callback="press:1"]')
        )
    )
    assert button.text == "Press me"
    button.click()
    wait.until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".msg.bot .text"), "You pressed 1")
    )
    bot_messages = browser.find_elements(By.CSS_SELECTOR, ".msg.bot")
    assert len(bot_messages) == 1  # edited in place, not appended
    assert "edited" in bot_messages[0].find_element(By.CSS_SELECTOR, ".meta").text
    assert not bot_messages[0].find_elements(By.CSS_SELECTOR, ".inline-btn")
    wait.until(ec.text_to_be_present_in_element((By.ID, "toast"), "Pressed"))

    (user,) = emu.users()
    kinds = [e["kind"] for e in emu.transcript(token, user.id)]
    assert kinds == ["message", "callback_answer", "edit"]


def test_user_picks_a_group_and_talks_to_the_bot_there(browser, emu, token, echo_bot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    emu.add_bot(token, username="echo_test_bot")
    ann = emu.create_user(first_name="Ann")
    bob = emu.create_user(first_name="Bob")
    group = emu.create_group("Gym floor", members=[ann, bob], supergroup=True)
    group.add_bot(token, by=ann)
    group.send_text(token, bob, "/start")  # privacy mode lets a bare command through
    wait = WebDriverWait(browser, 20)
    browser.get(emu.base_url + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-select"), "Ann"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "chat-select"), "Gym floor (supergroup)"))
    Select(browser.find_element(By.ID, "chat-select")).select_by_value(str(group.id))
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".msg.bot .text"), "Hello, Bob!"))
    assert browser.find_element(By.CSS_SELECTOR, ".msg.service").text == "You added tgemu bot"
    assert browser.find_element(By.CSS_SELECTOR, ".msg.member .sender").text == "Bob"

    browser.find_element(By.ID, "text-input").send_keys("/start", Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.bot")) == 2)
    assert browser.find_elements(By.CSS_SELECTOR, ".msg.bot .text")[1].text == "Hello, Ann!"
    assert browser.find_element(By.CSS_SELECTOR, ".msg.user .text").text == "/start"
    texts = [e["text"] for e in group.transcript(token)]
    assert texts == ["Hello, Bob!", "Hello, Ann!"]

    browser.find_element(By.ID, "block-btn").click()  # "Remove bot" in a group
    wait.until(ec.text_to_be_present_in_element((By.ID, "block-btn"), "Add bot"))
    assert group.bot_status(token) == "kicked"


def test_new_group_button_creates_a_group_with_the_bot(browser, emu, token, echo_bot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    emu.add_bot(token, username="echo_test_bot")
    ann = emu.create_user(first_name="Ann")
    wait = WebDriverWait(browser, 20)
    browser.get(emu.base_url + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-select"), "Ann"))
    browser.find_element(By.ID, "new-group-title").send_keys("Yoga fans")
    browser.find_element(By.ID, "new-group-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "chat-select"), "Yoga fans (supergroup)"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "block-btn"), "Remove bot"))
    (group,) = emu.groups()
    assert group.title == "Yoga fans" and group.member_status(ann) == "creator"
    assert group.bot_status(token) == "member"


def test_user_buys_from_an_invoice_with_the_pay_button(browser, emu, token, echo_bot):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    emu.add_bot(token, username="echo_test_bot")
    ann = emu.create_user(first_name="Ann")
    ann.send_text(token, "/buy_sold_out")
    ann.wait_for_messages(token)
    wait = WebDriverWait(browser, 20)
    browser.get(emu.base_url + "/")
    wait.until(ec.text_to_be_present_in_element((By.ID, "user-select"), "Ann"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "connected"))

    # The bot refuses at checkout: its error message shows under the invoice.
    refused = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".msg.bot .pay-btn")))
    assert refused.text == "Pay 45.00 EUR"
    invoice = browser.find_element(By.CSS_SELECTOR, ".msg.bot")
    assert invoice.find_element(By.CSS_SELECTOR, ".invoice-title").text == "Monthly plan"
    assert "30 days, unlimited visits" in invoice.text
    assert invoice.find_element(By.CSS_SELECTOR, ".invoice-price").text == "45.00 EUR"
    refused.click()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".invoice-error"), "Sold out"))

    # A good invoice: pay, the service line, the bot's thanks.
    browser.find_element(By.ID, "text-input").send_keys("/buy", Keys.ENTER)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg.bot .pay-btn")) == 2)
    browser.find_elements(By.CSS_SELECTOR, ".msg.bot .pay-btn")[1].click()
    wait.until(
        ec.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".msg.service"), "Payment successful: 45.00 EUR"
        )
    )
    wait.until(
        lambda d: (
            "Thanks for paying 45.00 EUR"
            in [e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot .text")]
        )
    )
    invoices = browser.find_elements(By.CSS_SELECTOR, ".msg.bot .invoice-title")
    paid = invoices[1].find_element(By.XPATH, "..")
    assert paid.find_element(By.CSS_SELECTOR, ".invoice-paid").text == "Paid"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".msg.bot .pay-btn")) == 1  # paid: no Pay
    assert [c["ok"] for c in emu.checkouts(token)] == [False, True]

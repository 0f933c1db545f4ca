"""English texts (HTML parse mode)."""

TEXT = {
    "welcome": (
        "Welcome to FitClub, {name}! 💪\n\n"
        "Here you can see your membership, book classes and check in with your card.\n"
        "Send /help to see what I can do."
    ),
    "welcome_back": "Welcome back, {name}! Send /help to see what I can do.",
    "help": (
        "<b>What I can do</b>\n"
        "/start – register or say hello\n"
        "/help – this list\n"
    ),
    "unknown_command": "I don't know the command {command}. Send /help for the list.",
    "unknown_text": "I didn't understand that. Send /help to see what I can do.",
    "unsupported_content": "I can only read text and buttons. Send /help to see what I can do.",
    "stale_button": "This button is no longer valid.",
    "slow_down": "You're sending messages too fast. Please wait a few seconds and try again.",
    "error_generic": "Something went wrong on our side. Please try again in a moment.",
}

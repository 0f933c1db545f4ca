"""Bot API errors, shaped and worded as Telegram answers them."""


class ApiError(Exception):
    """A Bot API failure: HTTP status, Telegram's description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        """The JSON object Telegram sends for this error."""
        out = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(message: str) -> ApiError:
    """400 with Telegram's "Bad Request: " prefix."""
    return ApiError(400, "Bad Request: " + message)


def forbidden(message: str) -> ApiError:
    """403 with Telegram's "Forbidden: " prefix."""
    return ApiError(403, "Forbidden: " + message)


def too_many_requests(retry_after: int) -> ApiError:
    """429 with retry_after, as Telegram's flood control answers."""
    return ApiError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")
CONFLICT_OTHER_POLL = ApiError(
    409,
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
)
CONFLICT_WEBHOOK = ApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)

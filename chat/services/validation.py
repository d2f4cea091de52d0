"""Checks on user-supplied text shared by the services."""

import re
import unicodedata

from django.conf import settings

from core.errors import BodyEmpty, BodyInvalid, BodyTooLong, InvalidInput

# C0 controls other than tab and newline, DEL, C1 controls, and lone surrogates (which JSON
# can carry but no database can store).
_UNSENDABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,64}")
# Letters and symbols that show as blank space: the Hangul fillers and the blank Braille pattern.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows_nothing(text: str) -> bool:
    """Whether every character is whitespace, a format character (zero-width space, joiners,
    direction marks, the BOM) or a blank glyph, so the text would look empty."""
    return all(
        char.isspace() or char in _BLANK_GLYPHS or unicodedata.category(char) == "Cf"
        for char in text
    )


def clean_body(body: object) -> str:
    """The message text as stored: newlines normalised, outer whitespace trimmed.

    Length is counted in Unicode code points, after trimming.
    """
    if not isinstance(body, str):
        raise InvalidInput("'body' must be a string.", field="body")
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _shows_nothing(text):
        raise BodyEmpty()
    limit = settings.PARLEY_MESSAGE_MAX_LENGTH
    if len(text) > limit:
        raise BodyTooLong(
            f"The message is {len(text)} characters long; the limit is {limit}.",
            max_length=limit,
        )
    if _UNSENDABLE.search(text):
        raise BodyInvalid()
    return text


def clean_client_id(client_id: object) -> str | None:
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise InvalidInput(
            "'client_id' must be 1 to 64 printable ASCII characters without spaces.",
            field="client_id",
        )
    return client_id


def clean_room_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInput("The room name must be a string.", field="name")
    text = " ".join(name.split())
    if _shows_nothing(text):
        raise InvalidInput("The room name cannot be empty.", field="name")
    if len(text) > 80:
        raise InvalidInput("The room name is limited to 80 characters.", field="name")
    if _UNSENDABLE.search(text):
        raise InvalidInput("The room name contains characters that cannot be used.", field="name")
    return text


def clean_username(username: object) -> str:
    """A user name to look up; refuses what no stored name can hold rather than guessing."""
    if not isinstance(username, str) or not username.strip() or len(username) > 150:
        raise InvalidInput("'username' must be a user name.", field="username")
    if _UNSENDABLE.search(username):
        raise InvalidInput("'username' contains characters no user name has.", field="username")
    return username.strip()

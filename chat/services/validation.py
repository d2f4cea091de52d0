"""Checks on user-supplied text shared by the services."""

import re
import unicodedata
import uuid

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


def clean_body(body: object, *, may_be_empty: bool = False) -> str:
    """The message text as stored: newlines normalised, outer whitespace trimmed.

    Length is counted in Unicode code points, after trimming. With `may_be_empty` (a message
    with files) text that shows nothing is stored as "".
    """
    if not isinstance(body, str):
        raise InvalidInput("'body' must be a string.", field="body")
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _shows_nothing(text):
        if may_be_empty:
            return ""
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


def clean_attachment_ids(attachments: object) -> list[uuid.UUID]:
    """The public ids of the uploads a message is to carry: a list of distinct UUID strings, at
    most PARLEY_ATTACHMENTS_PER_MESSAGE of them (None: no files)."""
    if attachments is None:
        return []
    limit = settings.PARLEY_ATTACHMENTS_PER_MESSAGE
    if not isinstance(attachments, list | tuple):
        raise InvalidInput("'attachments' must be a list of upload ids.", field="attachments")
    if len(attachments) > limit:
        raise InvalidInput(
            f"A message may carry at most {limit} files.", field="attachments", max_count=limit
        )
    ids: list[uuid.UUID] = []
    for item in attachments:
        try:
            if isinstance(item, uuid.UUID):
                ids.append(item)
            elif isinstance(item, str) and len(item) <= 64:
                ids.append(uuid.UUID(item))
            else:
                raise ValueError(item)
        except ValueError:
            raise InvalidInput(
                "'attachments' must be a list of upload ids.", field="attachments"
            ) from None
    if len(set(ids)) != len(ids):
        raise InvalidInput("'attachments' names a file twice.", field="attachments")
    return ids


# Characters that could move a path (separators), end a string early (NUL), hide in or reorder
# what is shown (controls, zero-width and bidi characters: U+202E shows "gpj.exe" as
# "exe.jpg"), or that Windows refuses in a file name.
_NAME_SEPARATORS = re.compile(r"[/\\]")
_NAME_WINDOWS = re.compile(r'[<>:"|?*]')
FILE_NAME_MAX_LENGTH = 200


def _name_char_kept(char: str) -> bool:
    return unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_file_name(name: object, *, extensions: tuple[str, ...] = ()) -> str:
    """A file name as Parley shows and offers it: the last part of any path, without
    characters that are invisible, reorder text or are unusable in file names, at most 200
    characters, never empty.

    `extensions` are those that fit the file's type (lower case, without the dot; the first is
    the usual one): a name ending otherwise gets the usual one added, so a text file called
    "page.html" is offered as "page.html.txt" and never opens as a web page once saved.
    """
    text = name if isinstance(name, str) else ""
    text = unicodedata.normalize("NFC", text)
    text = _NAME_SEPARATORS.split(text)[-1]
    text = "".join(char for char in text if _name_char_kept(char))
    text = _NAME_WINDOWS.sub("_", text)
    text = " ".join(text.split())
    # A leading dot hides a file; trailing dots and spaces are dropped by Windows.
    text = text.strip(" .")
    stem, dot, extension = text.rpartition(".")
    if not dot or len(extension) > 16:
        stem, extension = text, ""
    if extensions and extension.lower() not in extensions:
        stem, extension = text, extensions[0]
    stem = stem or "file"
    suffix = f".{extension}" if extension else ""
    return stem[: FILE_NAME_MAX_LENGTH - len(suffix)].rstrip(" .") + suffix

"""Display names: the one rule for what a user may be shown as, and changing one's own.

Signing up (accounts.forms.DisplayNameField), the profile page and any other writer go through
`display_name_clean`. A display name is not an identifier (the username is; it is NFKC, see
accounts.usernames), so it is kept as typed, only composed (NFC): NFKC would rewrite "x²" or
half-width kana that someone chose to be shown as.
"""

import unicodedata

from django.db import transaction

from accounts.models import User
from accounts.signals import profile_changed
from core.errors import InvalidInput

DISPLAY_NAME_MAX_LENGTH = User._meta.get_field("display_name").max_length or 80
DISPLAY_NAME_EMPTY = "A display name needs at least one visible character."

# Marks, embeddings, overrides and isolates: U+202E makes the rest of a line, the author's name
# and what follows it, read right to left. The page isolates names itself (dir="auto", <bdi>).
_DIRECTION_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters and symbols that show as blank space: the Hangul fillers and the blank Braille pattern.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _unusable(char: str) -> bool:
    """Controls (tab and newline inside too: a name is one line), lone surrogates, and
    direction controls."""
    return unicodedata.category(char) in ("Cc", "Cs") or char in _DIRECTION_CONTROLS


def _shows_nothing(text: str) -> bool:
    """Whether every character is whitespace, a format character (zero-width space, joiners)
    or a blank glyph, so the name would look empty."""
    return all(
        char.isspace() or char in _BLANK_GLYPHS or unicodedata.category(char) == "Cf"
        for char in text
    )


def display_name_clean(display_name: object) -> str:
    """The display name as stored: NFC, each run of spaces made one, trimmed.

    Raises InvalidInput (field "display_name") for anything but text, text with control or
    text-direction characters, text that shows nothing, or more than DISPLAY_NAME_MAX_LENGTH
    characters once trimmed.
    """
    if not isinstance(display_name, str):
        raise InvalidInput("A display name must be text.", field="display_name")
    # Trimmed first, as Django's form fields trim: a newline at either end is not refused.
    if any(_unusable(char) for char in display_name.strip()):
        raise InvalidInput(
            "A display name cannot contain control characters or text-direction controls.",
            field="display_name",
        )
    text = " ".join(unicodedata.normalize("NFC", display_name).split())
    if _shows_nothing(text):
        raise InvalidInput(DISPLAY_NAME_EMPTY, field="display_name")
    if len(text) > DISPLAY_NAME_MAX_LENGTH:
        raise InvalidInput(
            f"A display name is at most {DISPLAY_NAME_MAX_LENGTH} characters; "
            f"this one has {len(text)}.",
            field="display_name",
        )
    return text


def profile_update(user: User, *, display_name: str) -> User:
    """Change `user`'s own display name; InvalidInput, and nothing changed, if it breaks the
    rule (display_name_clean). `user` gets the new name in place."""
    cleaned = display_name_clean(display_name)
    with transaction.atomic():
        user.display_name = cleaned
        user.save(update_fields=["display_name"])
        announce_profile_changed(user)
    return user


def announce_profile_changed(user: User) -> None:
    """After commit, tell the rest of Parley (accounts.signals.profile_changed)."""
    transaction.on_commit(lambda: profile_changed.send(sender=User, user_id=user.pk))

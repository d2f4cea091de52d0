"""What a reaction may be: exactly one emoji, as Unicode's emoji data defines it.

The `emoji` package holds that data (single code points with emoji presentation, variation
selector 16, skin tones, ZWJ sequences, flags, keycaps); this module adds the bounds that
keep a reaction small and one thing: NFC, at most MAX_BYTES in UTF-8, no controls.
"""

import unicodedata

import emoji as emoji_data

from core.errors import InvalidInput

# A reaction's emoji in UTF-8 after NFC; the longest sequences Unicode names (families, flags
# of subdivisions) fit, and the column (chat.models.Reaction.emoji) holds 32 characters.
MAX_BYTES = 32


def clean_emoji(value: object) -> str:
    """The emoji in NFC, or InvalidInput (field `emoji`) unless it is one emoji grapheme."""
    if not isinstance(value, str):
        raise InvalidInput("'emoji' is required and must be a string.", field="emoji")
    # Checked before NFC, so that a huge string costs nothing to refuse.
    if not value or len(value) > MAX_BYTES:
        raise InvalidInput("'emoji' must be one emoji.", field="emoji")
    text = unicodedata.normalize("NFC", value)
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise InvalidInput("'emoji' must be one emoji.", field="emoji")
    if any(_is_control(character) for character in text) or not emoji_data.is_emoji(text):
        raise InvalidInput("'emoji' must be one emoji.", field="emoji")
    return text


def _is_control(character: str) -> bool:
    # Cc: controls; Cs: a lone surrogate (an escaped half pair from JSON); Zs/Zl/Zp: spaces.
    return unicodedata.category(character) in {"Cc", "Cs", "Zs", "Zl", "Zp"}

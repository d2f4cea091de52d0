"""chat.emoji: a reaction is exactly one emoji."""

import unicodedata

import pytest

from chat.emoji import MAX_BYTES, clean_emoji
from core.errors import InvalidInput

VALID = [
    "👍",
    "❤️",  # with variation selector 16
    "👍🏽",  # a skin tone
    "👨\u200d👩\u200d👧",  # a ZWJ family
    "🇫🇷",  # a flag: two regional indicators
    "1️⃣",  # a keycap
    "🎉",
    "😮",
    "👀",
    "😂",
]

INVALID = [
    "a",
    "1",
    " ",
    "",
    "👍👍",
    "👍 ",
    " 👍",
    "<script>",
    "👍" * 2500,  # 10 KB
    "x" * 10_000,
    "\u200d",  # a zero-width joiner alone
    "\x00",
    "\x07",
    "👍\x00",
    "\n👍",
    "\u0301",  # a combining mark alone
    "e\u0301",
    "👍\u0301",
    "🇫",  # half a flag
    "\ud83d",  # an unpaired surrogate, as escaped JSON gives it
    "abc",
    "#",
]


@pytest.mark.parametrize("value", VALID)
def test_one_emoji_is_accepted_as_it_is(value: str) -> None:
    assert clean_emoji(value) == unicodedata.normalize("NFC", value)


@pytest.mark.parametrize("value", INVALID)
def test_anything_but_one_emoji_is_invalid_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        clean_emoji(value)
    assert refusal.value.code == "invalid"
    assert refusal.value.details == {"field": "emoji"}


@pytest.mark.parametrize("value", [None, 1, ["👍"], {"emoji": "👍"}, True])
def test_a_non_string_is_invalid(value: object) -> None:
    with pytest.raises(InvalidInput):
        clean_emoji(value)


def test_every_valid_emoji_fits_the_byte_limit() -> None:
    assert all(len(clean_emoji(value).encode()) <= MAX_BYTES for value in VALID)

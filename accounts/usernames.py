"""Rules for new usernames: one script, and no look-alike of a name already taken.

"alice" spelt with a Cyrillic "a" (U+0430) beside "alice" invites impersonation. Two
names that Unicode's confusables data (UTS #39, shipped by confusable_homoglyphs) says look
alike have the same skeleton: each character replaced by the prototype it is confused with.
Names are compared by skeleton, without case, as logging in ignores case. Existing accounts
are never changed.
"""

import unicodedata
from collections.abc import Iterable
from functools import cache

from confusable_homoglyphs import (  # type: ignore[import-untyped]
    categories,
    confusables,
)

from accounts.models import User

# Scripts written together in one name (UTS #39's "highly restrictive" profile): Japanese mixes
# Han, Hiragana and Katakana, Chinese Han and Bopomofo, Korean Han and Hangul, each with Latin.
# Any other second script is refused.
_SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Digits, punctuation and combining marks belong to every script.
_SHARED = frozenset({"COMMON", "INHERITED"})
# The library's data keeps the direction marks it was printed with around right-to-left text.
_DIRECTION_MARKS = str.maketrans("", "", "\u200e\u200f")


def normalize(username: str) -> str:
    """The form a username is stored and looked up in (NFKC, as Django's UsernameField)."""
    return unicodedata.normalize("NFKC", username)


def scripts_of(username: str) -> set[str]:
    """The scripts of `username`'s letters, upper-case (LATIN, CYRILLIC ...)."""
    return {script.upper() for script in categories.unique_aliases(username)} - _SHARED


def mixes_scripts(username: str) -> bool:
    scripts = scripts_of(username)
    if len(scripts) <= 1:
        return False
    return not any(scripts <= allowed for allowed in _SCRIPTS_WRITTEN_TOGETHER)


@cache
def _prototypes() -> dict[str, str]:
    """Each confusable character and the prototype it maps to.

    The library's table links both ways, a source to its prototype and a prototype to all its
    sources. A source has exactly one prototype and a prototype is never a source, so a
    character with one link to a sequence, or to a character with several links, is the
    source. Of a pair linked only to each other either may be the prototype: one is chosen,
    the same for both, which is all a comparison needs.
    """
    links: dict[str, set[str]] = {}
    for key, homoglyphs in confusables.confusables_data.items():
        near = links.setdefault(key.translate(_DIRECTION_MARKS), set())
        near.update(homoglyph["c"].translate(_DIRECTION_MARKS) for homoglyph in homoglyphs)
    table = {}
    for char, near in links.items():
        if len(char) != 1 or len(near) != 1:
            continue
        (other,) = near
        if len(other) > 1 or len(links.get(other, ())) > 1 or other < char:
            table[char] = other
    return table


def skeleton(text: str) -> str:
    """UTS #39's skeleton: two strings that look alike have the same one."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


def comparison_key(username: str) -> str:
    """Equal for two names a reader could take for each other, in any case."""
    return skeleton(skeleton(normalize(username)).casefold())


def look_alike(username: str, taken: Iterable[str]) -> str | None:
    """The first name of `taken` that `username` could be mistaken for, if any."""
    key = comparison_key(username)
    return next((name for name in taken if comparison_key(name) == key), None)


def look_alike_of_existing(username: str) -> str | None:
    """An existing username `username` could be mistaken for.

    Reads every username: there is no stored skeleton to look up. Sign-ups are limited per
    address (accounts.throttle), which bounds the cost.
    """
    names = User.objects.values_list("username", flat=True).iterator(chunk_size=2000)
    return look_alike(username, names)

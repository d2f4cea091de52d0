"""Finding `@username` and `@room` in a message's Markdown, and marking them for rendering.

Mentions are read from the token stream chat.formatting builds, so text in code spans, code
blocks and links is never a mention. A name is what Django's username validator allows
(letters, digits and `.@+-`), without trailing punctuation ("@vic." mentions vic); the `@` must
not follow a name character, so an e-mail address such as a@b.com is not a mention. Names
compare as log-in compares them: NFKC, regardless of case.
"""

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from markdown_it.token import Token

# Distinct names recorded per message; more stay plain text (docs/protocol.md, section 7).
MAX_MENTIONS = 50
ROOM = "room"
# Longest username Django stores (AbstractUser.username).
_NAME_LENGTH = 150
_MENTION = re.compile(r"(?<![\w.@+\-])@([\w.@+\-]+)")
_TRAILING = ".@+-"


def mention_key(name: str) -> str:
    """The form two names that log in alike share."""
    return unicodedata.normalize("NFKC", name).lower()


@dataclass(frozen=True)
class FoundMentions:
    # Distinct names as written (first spelling of each), in order, at most MAX_MENTIONS.
    names: tuple[str, ...]
    room: bool


def _matches(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, name) of each mention-shaped run in plain text."""
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(_TRAILING)
        if not name or len(name) > _NAME_LENGTH:
            continue
        yield match.start(), match.start() + 1 + len(name), name


def _plain_texts(tokens: list[Token]) -> Iterator[tuple[list[Token], int, Token]]:
    """(inline token's children, index, text child) of each text outside links and code."""
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        link_depth = 0
        for index, child in enumerate(block.children):
            if child.type == "link_open":
                link_depth += 1
            elif child.type == "link_close":
                link_depth -= 1
            elif child.type == "text" and link_depth == 0:
                yield block.children, index, child


def find_mentions(tokens: list[Token]) -> FoundMentions:
    """The mentions a message's tokens hold (chat.formatting.body_tokens)."""
    names: dict[str, str] = {}
    room = False
    for _, _, child in _plain_texts(tokens):
        for _, _, name in _matches(child.content):
            key = mention_key(name)
            if key == ROOM:
                room = True
            elif key not in names and len(names) < MAX_MENTIONS:
                names[key] = name
    return FoundMentions(names=tuple(names.values()), room=room)


def mark_mentions(tokens: list[Token], usernames: Mapping[str, str], *, room: bool) -> None:
    """Split text tokens so that each recorded mention is a `mention` token (rendered by
    chat.formatting as a span); `usernames` maps mention_key to the stored username."""
    if not usernames and not room:
        return
    # From the end, so that splitting a child leaves the indexes of earlier ones valid.
    for children, index, child in reversed(list(_plain_texts(tokens))):
        pieces: list[Token] = []
        text = child.content
        position = 0
        for start, end, name in _matches(text):
            key = mention_key(name)
            username = ROOM if key == ROOM and room else usernames.get(key)
            if username is None:
                continue
            if start > position:
                pieces.append(_text(text[position:start]))
            mention = Token("mention", "span", 0, content=text[start:end])
            mention.meta = {"username": username, "room": key == ROOM}
            pieces.append(mention)
            position = end
        if not pieces:
            continue
        if position < len(text):
            pieces.append(_text(text[position:]))
        children[index : index + 1] = pieces


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)

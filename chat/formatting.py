"""Message formatting: a message's Markdown source turned into the safe HTML clients show.

The source (`Message.body`) stays the stored truth; the services store what `render_body`
makes of it in `Message.body_html` when a message is posted or edited.
"""

import html
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import nh3
from linkify_it import LinkifyIt  # type: ignore[import-untyped]  # ships no type hints
from markdown_it import MarkdownIt
from markdown_it.token import Token

from chat.mentions import mark_mentions

# What a formatted message may contain. Headings, images, tables, rules and raw HTML are not
# formatting a chat line needs; their Markdown stays text.
# A span only ever marks a recorded mention (chat.mentions): Markdown cannot make one.
ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
    | {"span"}
)
ALLOWED_ATTRIBUTES = {
    "a": frozenset({"href", "rel", "target"}),
    "ol": frozenset({"start"}),
    "span": frozenset({"class", "data-username"}),
}
MENTION_CLASSES = frozenset({"mention", "mention-room"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def is_allowed_href(url: str) -> bool:
    """Whether a link may point at `url`: absolute, with an http, https or mailto scheme."""
    scheme = _SCHEME.match(url)
    return scheme is not None and scheme.group(1).lower() in LINK_SCHEMES


class _ChatLinkify(LinkifyIt):
    """Bare addresses that become links: those with a scheme, `www.` ones and e-mail addresses,
    but not every word with a dot in it (`settings.py` or `notes.md` is a file, not a site)."""

    def match(self, text: str) -> list[Any] | None:
        links = super().match(text)
        if not links:
            return links
        return [link for link in links if link.schema or link.text.lower().startswith("www.")]

    def normalize(self, match: Any) -> None:
        if not match.schema:  # a www. address: the https site, as browsers now assume
            match.url = "https://" + match.url
            return
        super().normalize(match)


class _ChatMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        # Checked on the link's normalized (entity-decoded, percent-encoded) address, for
        # [text](url), <autolinks> and bare addresses alike: anything else stays text.
        return is_allowed_href(url)


def _new_markdown() -> MarkdownIt:
    # CommonMark, with raw HTML off (it shows as text) and a nesting limit of 20 blocks or
    # spans (deeper ones are cut off, so 10,000 `>` cost well under a millisecond). A single
    # newline is a line break, as people expect in a chat.
    markdown = _ChatMarkdown(
        "commonmark",
        {"html": False, "breaks": True, "linkify": True, "typographer": False, "maxNesting": 20},
    )
    markdown.enable(["strikethrough", "linkify"])
    markdown.disable(["heading", "lheading", "hr", "image", "html_block", "html_inline"])
    # ftp: and protocol-relative //host addresses would not pass validateLink anyway.
    markdown.linkify = _ChatLinkify().add("ftp:", None).add("//", None)
    markdown.add_render_rule("mention", _render_mention)
    return markdown


def _render_mention(self: Any, tokens: Sequence[Token], index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    text = html.escape(token.content)
    if token.meta["room"]:
        return f'<span class="mention-room">{text}</span>'
    username = html.escape(token.meta["username"])
    return f'<span class="mention" data-username="{username}">{text}</span>'


# markdown-it's parser is shared configuration, but linkify-it keeps per-call state on its
# instance: one parser per thread (the services run in a thread pool).
_local = threading.local()


def _markdown() -> MarkdownIt:
    markdown: MarkdownIt | None = getattr(_local, "markdown", None)
    if markdown is None:
        markdown = _local.markdown = _new_markdown()
    return markdown


def _allowed_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value if is_allowed_href(value) else None
    if tag == "ol" and attribute == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    return value


# Defence in depth: whatever the parser emits, only these tags and attributes get through.
_SANITIZER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    # "*": none on every tag (Ammonia's default would let lang and title through).
    attributes={"*": set(), "a": {"href"}, "ol": {"start"}, "span": {"data-username"}},
    allowed_classes={"span": set(MENTION_CLASSES)},
    attribute_filter=_allowed_attribute,
    url_schemes=set(LINK_SCHEMES),
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def _as_text(source: str) -> str:
    """The source shown as it was typed: escaped, with its line breaks."""
    return "<p>" + html.escape(source).replace("\n", "<br>") + "</p>"


def body_tokens(source: str) -> list[Token]:
    """The Markdown token stream of a message's source (what chat.mentions reads)."""
    return _markdown().parse(source, {})


def render_body(
    source: str, *, mentions: Mapping[str, str] | None = None, mentions_room: bool = False
) -> str:
    """A message's Markdown source as sanitized HTML: paragraphs, line breaks, bold, italics,
    strikethrough, code, code blocks, quotes, lists and http, https and mailto links.

    `mentions` (mention_key to username) and `mentions_room` are the mentions recorded for
    the message: each becomes <span class="mention" data-username="..."> (an honoured @room
    <span class="mention-room">), so clients can highlight those of their user.

    "" for a source that shows nothing. A source whose Markdown shows nothing (a lone `-` or
    `>`, a link definition) is shown as the text it is.
    """
    if not source.strip():
        return ""
    markdown = _markdown()
    env: dict[str, Any] = {}
    tokens = markdown.parse(source, env)
    mark_mentions(tokens, mentions or {}, room=mentions_room)
    rendered = _SANITIZER.clean(markdown.renderer.render(tokens, markdown.options, env)).strip()
    if not html.unescape(_TAG.sub("", rendered)).strip():
        rendered = _SANITIZER.clean(_as_text(source))
    return rendered

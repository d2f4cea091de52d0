"""chat.formatting: a message's Markdown source as safe HTML."""

import importlib
import random
import time
from html.parser import HTMLParser
from types import SimpleNamespace
from unittest.mock import patch
from urllib.parse import urlsplit

import pytest

from chat.formatting import LINK_REL, render_body

# What the output may hold, written out again here rather than read from the module, so that a
# widened allowlist there fails this test until it is widened here on purpose.
TAGS = {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
TAGS |= {"span"}  # only a recorded mention (chat.mentions)
ATTRIBUTES = {"a": {"href", "rel", "target"}, "ol": {"start"}, "span": {"class", "data-username"}}
MENTION_CLASSES = {"mention", "mention-room"}
SCHEMES = {"http", "https", "mailto"}


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data!r}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"declaration {decl!r}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"processing instruction {data!r}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"unknown declaration {data!r}")


def parsed(output: str) -> Elements:
    parser = Elements()
    parser.feed(output)
    parser.close()
    return parser


def assert_safe(output: str) -> None:
    """Only allowed tags and attributes, and every link an http, https or mailto one that
    opens in a new tab without telling the target where it came from."""
    result = parsed(output)
    assert result.other == [], output
    for tag, attributes in result.elements:
        assert tag in TAGS, output
        assert set(attributes) <= ATTRIBUTES.get(tag, set()), output
        if tag == "a":
            href = attributes.get("href")
            if href is not None:
                assert href == href.strip(), output
                assert urlsplit(href).scheme.lower() in SCHEMES, output
            assert attributes.get("rel") == LINK_REL, output
            assert attributes.get("target") == "_blank", output
        if tag == "ol" and "start" in attributes:
            assert (attributes["start"] or "").isdigit(), output
        if tag == "span":
            assert attributes.get("class") in MENTION_CLASSES, output


def link(href: str, text: str) -> str:
    return f'<a href="{href}" target="_blank" rel="{LINK_REL}">{text}</a>'


# Each construct


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain words", "<p>plain words</p>"),
        ("**bold** and __bold__", "<p><strong>bold</strong> and <strong>bold</strong></p>"),
        ("_em_ and *em*", "<p><em>em</em> and <em>em</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("`x < y`", "<p><code>x &lt; y</code></p>"),
        ("```\nif a < b:\n    pass\n```", "<pre><code>if a &lt; b:\n    pass\n</code></pre>"),
        ("```python\nprint(1)\n```", "<pre><code>print(1)\n</code></pre>"),
        ("    indented", "<pre><code>indented\n</code></pre>"),
        ("> quoted\n> on", "<blockquote>\n<p>quoted<br>\non</p>\n</blockquote>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("3. three", '<ol start="3">\n<li>three</li>\n</ol>'),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("para one\n\npara two", "<p>para one</p>\n<p>para two</p>"),
        (
            "[site](https://example.com/a?b=1&c=2)",
            f"<p>{link('https://example.com/a?b=1&amp;c=2', 'site')}</p>",
        ),
        ("<https://example.com>", f"<p>{link('https://example.com', 'https://example.com')}</p>"),
        ("[mail](mailto:a@example.com)", f"<p>{link('mailto:a@example.com', 'mail')}</p>"),
    ],
)
def test_each_allowed_construct_renders_as_html(source: str, expected: str) -> None:
    assert render_body(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "see http://example.com/x.",
            f"<p>see {link('http://example.com/x', 'http://example.com/x')}.</p>",
        ),
        ("www.example.com", f"<p>{link('https://www.example.com', 'www.example.com')}</p>"),
        ("bob@example.com", f"<p>{link('mailto:bob@example.com', 'bob@example.com')}</p>"),
        # A file name is not a site, though .py and .md are country domains.
        ("edit settings.py and notes.md", "<p>edit settings.py and notes.md</p>"),
        ("ftp://example.com //example.com", "<p>ftp://example.com //example.com</p>"),
        ("`http://example.com`", "<p><code>http://example.com</code></p>"),
    ],
)
def test_bare_addresses_become_links_but_file_names_do_not(source: str, expected: str) -> None:
    assert render_body(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# not a heading", "<p># not a heading</p>"),
        ("title\n===", "<p>title<br>\n===</p>"),
        ("---", "<p>---</p>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>"),
        (
            "![a cat](https://example.com/cat.png)",
            f"<p>!{link('https://example.com/cat.png', 'a cat')}</p>",
        ),
        ("<b>raw</b> <i>html</i>", "<p>&lt;b&gt;raw&lt;/b&gt; &lt;i&gt;html&lt;/i&gt;</p>"),
        ("[relative](/accounts/logout/)", "<p>[relative](/accounts/logout/)</p>"),
        ("[anchor](#top)", "<p>[anchor](#top)</p>"),
    ],
)
def test_what_is_not_chat_formatting_stays_text(source: str, expected: str) -> None:
    assert render_body(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("-", "<p>-</p>"),
        (">", "<p>&gt;</p>"),
        ("[a]: https://example.com", "<p>[a]: https://example.com</p>"),
        ("* \n>\n1.", "<p>* <br>&gt;<br>1.</p>"),
    ],
)
def test_markdown_that_would_show_nothing_is_shown_as_typed(source: str, expected: str) -> None:
    assert render_body(source) == expected


@pytest.mark.parametrize("source", ["", " ", "\n\n"])
def test_a_blank_source_renders_to_nothing(source: str) -> None:
    assert render_body(source) == ""


# Hostile input

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<svg/onload=alert(1)>",
    "<iframe src=https://example.com></iframe>",
    "<style>body{display:none}</style>",
    "<!-- a comment --> <![CDATA[x]]> <?php x ?> <!DOCTYPE html>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;&#x76;&#x61;script:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml,<svg onload=alert(1)>)",
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "javascript:alert(1) data:text/html,x vbscript:x",
    "[a]: javascript:alert(1)\n\n[a]",
    '[x](https://example.com "title" onmouseover="alert(1)")',
    '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
    "[x](https://example.com 'x\" onclick=\"alert(1)')",
    '[x](https://example.com" onclick="alert(1))',
    '[x](https://example.com/"><script>alert(1)</script>)',
    '<https://example.com/"onmouseover="alert(1)>',
    'https://example.com/"><img src=x onerror=alert(1)>',
    "www.example.com/<script>alert(1)</script>",
    "```\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "    <iframe src=javascript:alert(1)>",
    "> <script>alert(1)</script>\n- <img onerror=alert(1)>",
    "**<script>**alert(1)**</script>**",
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "[x](https://example.com)<!--",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\u0000<script>\u202e\ufeffalert(1)",
    "[click](mailto:a@example.com?body=<script>)",
]


@pytest.mark.parametrize("source", XSS)
def test_hostile_input_never_yields_script_capable_output(source: str) -> None:
    output = render_body(source)

    assert_safe(output)
    lowered = output.lower()
    assert "<script" not in lowered
    assert (
        "javascript:"
        not in " ".join(
            value or ""
            for _, attributes in parsed(output).elements
            for value in attributes.values()
        ).lower()
    )


def test_html_in_a_code_block_stays_text() -> None:
    output = render_body("```html\n<script>alert(1)</script>\n```")

    assert output == "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>"
    assert "".join(parsed(output).text) == "<script>alert(1)</script>\n"


def test_a_link_title_becomes_no_attribute() -> None:
    output = render_body('[x](https://example.com "t\\" onclick=\\"alert(1)")')

    assert output == f"<p>{link('https://example.com', 'x')}</p>"


TOKENS = [
    "*",
    "**",
    "_",
    "__",
    "~~",
    "`",
    "```",
    "\n",
    "\n\n",
    " ",
    "  ",
    "> ",
    "- ",
    "1. ",
    "7) ",
    "[",
    "]",
    "(",
    ")",
    "![",
    "<",
    ">",
    '"',
    "'",
    "&",
    "&amp;",
    "&#106;",
    "&#x3C;",
    "\\",
    "#",
    "|",
    "---",
    "    ",
    "\t",
    "=",
    "javascript:",
    "JaVaScRiPt:",
    "data:",
    "vbscript:",
    "http://",
    "https://",
    "mailto:",
    "www.",
    "//",
    "example.com",
    "a@b.co",
    "alert(1)",
    "x",
    "word",
    "<script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "onclick=",
    "\u202e",
    "\u00a0",
    "é",
    "😀",
    "<!--",
    "-->",
    "<![CDATA[",
]


def test_random_markdown_always_yields_safe_html() -> None:
    """A seeded fuzz over Markdown-ish pieces: the same invariants, a few thousand times."""
    generator = random.Random(19)
    for _ in range(3000):
        source = "".join(generator.choices(TOKENS, k=generator.randint(1, 40)))
        output = render_body(source)
        assert_safe(output)
        if source.strip():
            assert output, source
        assert "<script" not in output.lower(), source


def test_random_markdown_with_mentions_always_yields_safe_html() -> None:
    """The same fuzz with mentions marked, a hostile stored username among them."""
    generator = random.Random(20)
    pieces = [*TOKENS, "@", "@vic", "@room", "@evil", "vic", "@vic.", "a@vic"]
    mentions = {"vic": "vic", "evil": '"><script>alert(1)</script>'}
    for _ in range(3000):
        source = "".join(generator.choices(pieces, k=generator.randint(1, 40)))
        output = render_body(source, mentions=mentions, mentions_room=True)
        assert_safe(output)
        if source.strip():
            assert output, source
        assert "<script" not in output.lower(), source


# Pathological input: fast, whatever its shape

PATHOLOGICAL = {
    "10,000 >": ">" * 10_000,
    "10,000 > then text": ">" * 10_000 + " deep",
    "4,000 backticks": "`" * 4000,
    "backtick runs": "".join("`" * n + "a" for n in range(1, 90)),
    "a list item deeper each line": "\n".join("  " * depth + "- x" for depth in range(200)),
    "a quote deeper each line": "\n".join("> " * depth + "x" for depth in range(150)),
}


def fastest_render_ms(source: str, runs: int = 3) -> float:
    """The best of a few runs, so that a busy machine's pauses do not count."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        output = render_body(source)
        best = min(best, (time.perf_counter() - start) * 1000)
    assert_safe(output)
    return best


@pytest.mark.parametrize("source", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_deep_nesting_and_long_runs_render_fast_and_safely(source: str) -> None:
    render_body("warm up")

    assert fastest_render_ms(source) < 50


# Inputs of the longest default body (4,000 code points) that cost markdown-it the most per
# character (about 15 µs, linearly); the bound only catches a quadratic blow-up.
SLOW_BUT_LINEAR = {
    "brackets": "[" * 4000,
    "image brackets": "![" * 2000,
    "bracket emphasis": "[*" * 2000,
    "open links": "[a](" * 1000,
    "stars": "*" * 4000,
    "underscores": "_a " * 1333,
    "angle brackets": "<" * 4000,
    "entities": "&#" * 2000,
}


@pytest.mark.parametrize("source", SLOW_BUT_LINEAR.values(), ids=SLOW_BUT_LINEAR.keys())
def test_the_costliest_shapes_stay_linear(source: str) -> None:
    assert fastest_render_ms(source) < 500


# Messages stored before body_html existed: the data migration renders them


@pytest.mark.django_db
def test_the_backfill_renders_stored_text_messages_and_leaves_the_rest_empty() -> None:
    from django.apps import apps
    from django.db import connection

    from chat.models import Message
    from chat.services.messages import message_delete, message_post
    from tests.factories import UserFactory, make_room

    backfill = importlib.import_module("chat.migrations.0006_message_body_html_backfill")
    member = UserFactory()
    room = make_room(members=[member])
    posted = [message_post(member, room_id=room.public_id, body=f"**m{n}**") for n in range(7)]
    message_delete(member, room_id=room.public_id, seq=posted[3].seq)
    Message.objects.update(body_html="")  # as the column's default left them

    with patch.object(backfill, "BATCH_SIZE", 2):
        backfill.render_stored_messages(apps, SimpleNamespace(connection=connection))

    shown = {message.seq: message.body_html for message in Message.objects.filter(room=room)}
    assert shown == {
        **{seq: "" for seq in shown},  # system lines and the deleted message
        **{
            message.seq: f"<p><strong>m{n}</strong></p>"
            for n, message in enumerate(posted)
            if n != 3
        },
    }

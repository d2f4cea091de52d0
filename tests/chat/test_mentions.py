"""chat.mentions: @names found in a message's Markdown, and marked when rendered."""

import pytest

from chat.formatting import body_tokens, render_body
from chat.mentions import MAX_MENTIONS, find_mentions
from tests.chat.test_formatting import assert_safe


def found(source: str) -> tuple[tuple[str, ...], bool]:
    mentions = find_mentions(body_tokens(source))
    return mentions.names, mentions.room


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("@vic", ("vic",)),
        ("hi @vic, @eve!", ("vic", "eve")),
        ("ask @vic.", ("vic",)),
        ("@vic: look", ("vic",)),
        ("(@vic)", ("vic",)),
        ("@first.last-name+x wrote", ("first.last-name+x",)),
        ("**@vic** and _@eve_", ("vic", "eve")),
        ("> @vic quoted\n- @eve listed", ("vic", "eve")),
        ("@vic @VIC @Vic", ("vic",)),
        ("@\uff56\uff49\uff43", ("\uff56\uff49\uff43",)),  # full-width: NFKC makes it vic
        ("@élodie", ("élodie",)),
    ],
)
def test_names_outside_code_are_found_without_trailing_punctuation(source, names) -> None:
    assert found(source) == (names, False)


@pytest.mark.parametrize(
    "source",
    [
        "`@vic`",
        "``code @vic``",
        "```\n@vic\n```",
        "    @vic indented code",
        "mail a@b.com or vic@example.org",
        "[@vic](https://example.com)",
        "https://example.com/@vic",
        "<https://example.com/@vic>",
        "@",
        "@ vic",
        "@...",
    ],
)
def test_code_links_addresses_and_bare_signs_are_not_mentions(source) -> None:
    names, room = found(source)
    assert "vic" not in [name.lower() for name in names]
    assert room is False


def test_room_is_reserved_and_not_a_name() -> None:
    assert found("@room look, and @Room") == ((), True)
    assert found("`@room`") == ((), False)


def test_at_most_fifty_distinct_names_are_kept_the_rest_stay_text() -> None:
    source = " ".join(f"@user{number}" for number in range(500))

    names, _ = found(source)

    assert len(names) == MAX_MENTIONS
    assert names == tuple(f"user{number}" for number in range(MAX_MENTIONS))


def test_a_name_longer_than_any_username_is_not_a_mention() -> None:
    assert found("@" + "v" * 151) == ((), False)


def test_recorded_mentions_render_as_marked_spans_with_the_stored_username() -> None:
    output = render_body("hi @VIC and @eve, `@vic`", mentions={"vic": "Vic"})

    assert output == (
        '<p>hi <span class="mention" data-username="Vic">@VIC</span> and @eve, '
        "<code>@vic</code></p>"
    )
    assert_safe(output)


def test_an_honoured_room_mention_renders_marked_and_otherwise_stays_text() -> None:
    assert render_body("@room now", mentions_room=True) == (
        '<p><span class="mention-room">@room</span> now</p>'
    )
    assert render_body("@room now") == "<p>@room now</p>"


def test_a_username_with_markup_characters_is_escaped_in_its_attribute() -> None:
    output = render_body("@x", mentions={"x": 'x"><script>'})

    assert "<script" not in output
    assert 'data-username="x&quot;&gt;&lt;script&gt;"' in output
    assert_safe(output)


def test_five_hundred_mentions_render_quickly_and_safely() -> None:
    source = " ".join(f"@user{number}" for number in range(500))
    mentions = {f"user{number}": f"user{number}" for number in range(MAX_MENTIONS)}

    output = render_body(source, mentions=mentions)

    assert output.count('class="mention"') == MAX_MENTIONS
    assert_safe(output)

"""accounts: the profile page (display name) and changing the password, through the Django test
client; the display-name rule and its service (accounts/profiles.py)."""

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.forms import ProfileForm, SignUpForm, ThrottledPasswordChangeForm
from accounts.models import User
from accounts.profiles import DISPLAY_NAME_MAX_LENGTH, profile_update
from core.errors import InvalidInput
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-anchor-71-tundra"


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def logged_in_with_password(user: User) -> Client:
    """A browser that logged in through the log-in page, as a person does."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def field_errors(response: Any, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


def labels_cover_every_field(html: str, form: Any) -> bool:
    """Each visible field of `form` has a <label for> naming its input's id."""
    return all(
        f'<label for="{field.auto_id}"' in html and f'id="{field.auto_id}"' in html
        for field in form.visible_fields()
    )


# The profile page


def test_the_profile_shows_the_username_and_the_display_name_to_change(alice) -> None:
    response = logged_in(alice).get(reverse("profile"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<bdi id="username">alice</bdi>' in html
    assert 'name="display_name"' in html
    assert 'value="Alice"' in html
    assert 'dir="auto"' in html
    assert f'href="{reverse("password_change")}"' in html
    assert f'href="{reverse("tokens")}"' in html


def test_a_new_display_name_is_saved_flashed_and_shown(alice) -> None:
    browser = logged_in(alice)

    response = browser.post(reverse("profile"), {"display_name": "  Alice   Liddell "})

    assert response.status_code == 302
    assert response.url == reverse("profile")
    alice.refresh_from_db()
    assert alice.display_name == "Alice Liddell"
    page = browser.get(reverse("profile"))
    assert [str(message) for message in get_messages(page.wsgi_request)] == ["Display name saved."]
    html = page.content.decode()
    assert 'value="Alice Liddell"' in html
    # And as text, not only in the field: the top bar shows the name the user goes by.
    assert re.search(r">\s*Alice Liddell\s*<", html)


def test_the_saved_flash_is_shown_once_on_the_page_redirected_to(alice) -> None:
    browser = logged_in(alice)

    response = browser.post(reverse("profile"), {"display_name": "Al"}, follow=True)

    assert 'role="status"' in response.content.decode()
    assert "Display name saved." in response.content.decode()
    assert "Display name saved." not in browser.get(reverse("profile")).content.decode()


def test_a_display_name_in_a_right_to_left_script_or_with_emoji_is_kept(alice) -> None:
    for name in ("آليس", "Alice 👩\u200d💻", "佐藤 ｱﾘｽ"):
        response = logged_in(alice).post(reverse("profile"), {"display_name": name})
        assert response.status_code == 302
        alice.refresh_from_db()
        assert alice.display_name == name


BAD_DISPLAY_NAMES = {
    "empty": ("", "visible character"),
    "only spaces": ("   ", "visible character"),
    "only a zero-width space": ("\u200b", "visible character"),
    "only a Hangul filler": ("\u3164\u3164", "visible character"),
    "too long": ("x" * (DISPLAY_NAME_MAX_LENGTH + 1), "at most"),
    "a right-to-left override": ("Alice\u202egnp.exe", "text-direction"),
    "a left-to-right isolate": ("\u2066Alice", "text-direction"),
    "a NUL": ("Ali\x00ce", "control characters"),
    "a bell": ("Ali\x07ce", "control characters"),
    "a newline inside": ("Alice\nAdmin", "control characters"),
    "a C1 control": ("Alice\x9b", "control characters"),
    "a tab inside": ("Alice\tAdmin", "control characters"),
}


@pytest.mark.parametrize(
    ("bad", "complaint"), BAD_DISPLAY_NAMES.values(), ids=BAD_DISPLAY_NAMES.keys()
)
def test_a_bad_display_name_is_refused_next_to_the_field_and_nothing_changes(
    alice, bad: str, complaint: str
) -> None:
    response = logged_in(alice).post(reverse("profile"), {"display_name": bad})

    assert response.status_code == 200
    errors = field_errors(response, "display_name")
    assert len(errors) == 1
    assert complaint in errors[0]
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'id="id_display_name_error"' in html
    assert "Display name saved." not in html
    alice.refresh_from_db()
    assert alice.display_name == "Alice"


def test_a_post_without_the_field_is_refused_and_changes_nothing(alice) -> None:
    response = logged_in(alice).post(reverse("profile"), {})

    assert field_errors(response, "display_name")
    alice.refresh_from_db()
    assert alice.display_name == "Alice"


def test_the_display_name_shown_again_after_a_refusal_is_escaped(alice) -> None:
    payload = '<script>alert(1)</script>"' + "x" * DISPLAY_NAME_MAX_LENGTH

    response = logged_in(alice).post(reverse("profile"), {"display_name": payload})

    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_log_in(method: str) -> None:
    response = getattr(Client(), method)(reverse("profile"), {"display_name": "x"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_the_profile_page_has_a_label_for_every_field(alice) -> None:
    html = logged_in(alice).get(reverse("profile")).content.decode()

    assert labels_cover_every_field(html, ProfileForm())


# The rule, in one place for the service, the profile page and signing up


def test_the_service_stores_the_name_composed_and_trimmed(alice) -> None:
    # "e" followed by a combining acute accent is stored as the one character "é".
    user = profile_update(alice, display_name=" Rene\u0301e  Ali ")

    assert user.display_name == "Ren\u00e9e Ali"
    alice.refresh_from_db()
    assert alice.display_name == "Ren\u00e9e Ali"


def test_the_service_keeps_compatibility_characters_as_typed(alice) -> None:
    assert profile_update(alice, display_name="ｘ²").display_name == "ｘ²"


@pytest.mark.parametrize(
    "bad", [*(bad for bad, _ in BAD_DISPLAY_NAMES.values()), "Ali\ud800ce", None, 5]
)
def test_the_service_refuses_what_the_page_refuses_and_writes_nothing(alice, bad: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        profile_update(alice, display_name=bad)

    assert refused.value.details == {"field": "display_name"}
    alice.refresh_from_db()
    assert alice.display_name == "Alice"


def test_the_name_may_have_the_whole_length_once_trimmed(alice) -> None:
    name = "x" * DISPLAY_NAME_MAX_LENGTH

    assert profile_update(alice, display_name=f"  {name}  ").display_name == name


def test_the_service_trims_line_breaks_at_either_end_as_the_page_does(alice) -> None:
    assert profile_update(alice, display_name="\nAlice L.\r\n\x85").display_name == "Alice L."


def test_signing_up_refuses_the_same_display_names_but_may_leave_it_empty() -> None:
    def sign_up_form(display_name: str) -> SignUpForm:
        return SignUpForm(
            {
                "username": "newcomer",
                "display_name": display_name,
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            }
        )

    assert sign_up_form("").is_valid()
    assert sign_up_form("   ").is_valid()
    for bad in ("\u200b", "Alice\u202egnp.exe", "Ali\x07ce", "x" * (DISPLAY_NAME_MAX_LENGTH + 1)):
        form = sign_up_form(bad)
        assert not form.is_valid()
        assert list(form.errors) == ["display_name"]
    form = sign_up_form("  New   Comer ")
    assert form.is_valid()
    assert form.cleaned_data["display_name"] == "New Comer"
    assert 'dir="auto"' in str(form["display_name"])


# Changing the password


def change_password(
    client: Client,
    *,
    old: str = PASSWORD,
    new: str = NEW_PASSWORD,
    again: str | None = None,
    at: str | None = None,
) -> Any:
    return client.post(
        at or reverse("password_change"),
        {
            "old_password": old,
            "new_password1": new,
            "new_password2": new if again is None else again,
        },
    )


def test_changing_the_password_works_and_keeps_this_browser_logged_in(alice) -> None:
    browser = logged_in_with_password(alice)

    response = change_password(browser)

    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    done = browser.get(response.url)
    assert done.status_code == 200
    assert "Your password has been changed" in done.content.decode()
    assert browser.get(reverse("profile")).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert Client().login(username="alice", password=NEW_PASSWORD)
    assert not Client().login(username="alice", password=PASSWORD)


def test_changing_the_password_logs_out_the_users_other_browsers(alice, bob) -> None:
    browser, other_browser = logged_in_with_password(alice), logged_in_with_password(alice)
    bobs_browser = logged_in_with_password(bob)

    assert change_password(browser).status_code == 302

    away = other_browser.get(reverse("profile"))
    assert away.status_code == 302
    assert away.url.startswith(reverse("login"))
    assert browser.get(reverse("profile")).status_code == 200
    assert bobs_browser.get(reverse("profile")).status_code == 200


def test_changing_the_password_closes_the_sockets_of_every_session_once(alice, announced) -> None:
    browser = logged_in_with_password(alice)

    change_password(browser)

    # Every session's sockets close (chat turns this into access.revoked for the user's
    # sockets); the token sockets stay, as accounts/revocation.py says.
    assert announced == [{"user_id": alice.pk, "every_session": True}]


def test_a_wrong_old_password_is_refused_and_changes_nothing(alice, announced) -> None:
    browser, other_browser = logged_in_with_password(alice), logged_in_with_password(alice)

    response = change_password(browser, old="not my password")

    assert response.status_code == 200
    assert field_errors(response, "old_password") == [
        ThrottledPasswordChangeForm.error_messages["password_incorrect"]
    ]
    assert not field_errors(response, "new_password1")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert announced == []
    assert other_browser.get(reverse("profile")).status_code == 200


def test_new_passwords_that_differ_are_refused_and_the_session_lives_on(alice) -> None:
    browser = logged_in_with_password(alice)

    response = change_password(browser, again="something-else-entirely-9")

    assert response.status_code == 200
    assert field_errors(response, "new_password2")
    assert browser.get(reverse("profile")).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_old_password_guesses_count_against_the_accounts_log_in_allowance(alice, settings) -> None:
    """A stolen session cannot guess the password faster here than at the log-in page: past
    the burst even the right one waits, with a 429 and Retry-After."""
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 2
    settings.PARLEY_LOGIN_ACCOUNT_PER_MINUTE = 1
    browser = logged_in(alice)
    for _ in range(2):
        assert change_password(browser, old="guess").status_code == 200

    refused = change_password(browser)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert re.match(r"Too many attempts", field_errors(refused, "old_password")[0])
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_right_old_password_gives_its_guess_back(alice, settings) -> None:
    settings.PARLEY_LOGIN_ACCOUNT_BURST = 1
    settings.PARLEY_LOGIN_ACCOUNT_PER_MINUTE = 1
    browser = logged_in(alice)

    assert change_password(browser, again="does-not-match-77").status_code == 200
    assert change_password(browser).status_code == 302


def test_anonymous_visitors_cannot_reach_the_password_change() -> None:
    for name in ("password_change", "password_change_done"):
        response = Client().get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login") + "?next=")


def test_the_password_pages_extend_parleys_layout_with_a_label_for_every_field(alice) -> None:
    browser = logged_in(alice)

    form_page = browser.get(reverse("password_change"))

    html = form_page.content.decode()
    assert form_page.status_code == 200
    assert '<header class="topbar">' in html
    assert labels_cover_every_field(html, form_page.context["form"])
    assert [field.name for field in form_page.context["form"].visible_fields()] == [
        "old_password",
        "new_password1",
        "new_password2",
    ]
    done_page = browser.get(reverse("password_change_done")).content.decode()
    assert '<header class="topbar">' in done_page
    assert 'role="status"' in done_page


def test_the_admins_password_change_renders_with_the_same_templates(alice) -> None:
    """The admin looks these templates up by the same names, and gets Parley's."""
    alice.is_staff = True
    alice.save()
    browser = logged_in_with_password(alice)

    assert browser.get(reverse("admin:password_change")).status_code == 200
    response = change_password(browser, at=reverse("admin:password_change"))

    assert response.status_code == 302
    assert browser.get(response.url).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)

"""The pages under their Content-Security-Policy and Permissions-Policy, in a real chromium.

The `browsing` fixture fails any test whose pages chromium reported a policy violation for;
these tests walk the pages the policy could break: htmx, the socket, the admin's scripts and
widgets, and the API documentation.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import off_loop
from tests.browser.pages import open_room, send, text_message, wait_for_text
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair():
    """alice and bob in "General"; alice is staff, to see the admin."""

    def build():
        alice = UserFactory(
            username="alice", display_name="Alice", is_staff=True, is_superuser=True
        )
        bob = UserFactory(username="bob", display_name="Bob")
        return alice, bob, make_room(alice, name="General", members=[bob])

    return off_loop(build)


def test_the_chat_pages_work_under_the_policy(server, page_for, browsing, pair) -> None:
    alice, bob, room = pair
    alice_page = page_for(alice, login_form=True)  # the log-in page, then home
    bob_page = page_for(bob)

    with alice_page.expect_response(f"**/rooms/{room.public_id}/") as answer:
        open_room(alice_page, room)  # the socket is live: connect-src allows it
    open_room(bob_page, room)
    headers = answer.value.headers
    assert "script-src 'self';" in headers["content-security-policy"]
    assert "private" in headers["cache-control"]
    assert "camera=()" in headers["permissions-policy"]

    # htmx loads the member list; the socket carries a message both ways.
    expect(alice_page.locator("#members li[data-username='bob']")).to_have_count(1)
    send(alice_page, "under the policy")
    wait_for_text(bob_page, "under the policy")
    expect(text_message(alice_page, "under the policy")).to_have_count(1)

    alice_page.goto("/accounts/tokens/")
    alice_page.fill("#create-token input[name=name]", "a bot")
    alice_page.fill("#create-token input[name=password]", "correct-horse-battery-staple")
    alice_page.locator("#create-token button[type=submit]").click()
    expect(alice_page.locator("#new-token")).to_have_count(1)

    assert browsing.policy_reports == []


def test_code_injected_into_a_page_is_refused_and_reported(server, page_for, browsing, pair):
    alice, _, room = pair
    page = page_for(alice)
    open_room(page, room)

    page.evaluate(
        """() => document.body.insertAdjacentHTML("beforeend",
            '<img src="data:," onerror="window.injected = true">')"""
    )

    expect(page.locator("img[onerror]")).to_have_count(1)
    page.wait_for_timeout(300)  # the image has failed to load by now: the handler was refused
    assert page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in report for report in browsing.policy_reports)
    browsing.policy_reports.clear()  # provoked on purpose


def test_the_admin_works_under_the_policy(server, page_for, browsing, pair) -> None:
    alice, bob, room = pair
    page = page_for(alice)

    page.goto("/admin/")
    expect(page.locator("#site-name")).to_contain_text("Parley administration")
    page.goto(f"/admin/chat/room/{room.pk}/change/")
    # inlines.js has run: it adds the "Add another" row link to the members' inline.
    expect(page.locator(".add-row a")).to_have_count(1)
    page.locator(".add-row a").click()
    # select2 (autocomplete_fields) opens and asks the admin's autocomplete view.
    selection = page.locator("tr.dynamic-memberships .select2-selection").last
    selection.click()
    page.locator(".select2-search__field").fill("bo")
    expect(page.locator(".select2-results__option", has_text="bob")).to_have_count(1)
    page.keyboard.press("Escape")
    page.goto("/admin/chat/room/add/")
    expect(page.locator("input[name=name]")).to_have_count(1)
    page.goto(f"/admin/accounts/user/{bob.pk}/change/")
    expect(page.locator("input[name=username]")).to_have_value("bob")
    page.goto("/admin/chat/message/")
    expect(page.locator("#changelist-filter")).to_have_count(1)

    assert browsing.policy_reports == []


def test_the_api_documentation_renders_under_its_policy(server, page_for, browsing, pair):
    alice, _, _ = pair
    page = page_for(alice)

    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(
        page.locator(".swagger-ui .opblock-summary-path", has_text=re.compile("/me$"))
    ).to_have_count(1)
    assert browsing.policy_reports == []

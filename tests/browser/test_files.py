"""Files and pictures between two people in a real browser: attach (button, drop, paste), see,
open large, download; bad files refused with a clear error and nothing kept; a stranger gets 404."""

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from chat.models import Attachment
from tests.browser.harness import off_loop
from tests.browser.pages import open_room
from tests.factories import UserFactory, make_room

pytestmark = pytest.mark.django_db(transaction=True)


def png(size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def trio():
    """alice and bob in "General"; carol in a room of her own."""

    def build() -> tuple[Any, ...]:
        alice = UserFactory(username="alice", display_name="Alice")
        bob = UserFactory(username="bob", display_name="Bob")
        carol = UserFactory(username="carol", display_name="Carol")
        return alice, bob, carol, make_room(alice, name="General", members=[bob])

    return off_loop(build)


def attach(page: Page, *files: dict[str, Any]) -> None:
    page.locator("#attach-file").set_input_files(list(files))


def wait_uploaded(page: Page, count: int) -> None:
    expect(page.locator("#upload-tray li.upload.ready")).to_have_count(count)


def send_composer(page: Page, text: str = "") -> None:
    box = page.locator("form#composer textarea[name=body]")
    box.fill(text)
    box.press("Enter")


def test_a_picture_and_a_file_go_from_one_person_to_the_other(
    server, page_for, trio, tmp_path: Path
) -> None:
    alice, bob, carol, room = trio
    alice_page = page_for(alice)
    open_room(alice_page, room)
    bob_page = page_for(bob)
    open_room(bob_page, room)

    attach(
        alice_page,
        {"name": "harbour.png", "mimeType": "image/png", "buffer": png()},
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Agenda: ship it.\n"},
    )
    wait_uploaded(alice_page, 2)
    send_composer(alice_page, "Photo and notes from today")

    message = bob_page.locator("#timeline li.message", has_text="Photo and notes from today")
    picture = message.locator("li.attachment.kind-image img")
    expect(picture).to_be_visible()
    expect(picture).to_have_attribute("alt", "harbour.png")
    # Visible comes before loaded: wait for the load to end, then see that it gave a picture.
    expect(picture).to_have_js_property("complete", True)
    assert picture.evaluate("img => img.naturalWidth") > 0, "the thumbnail loads"
    file_link = message.locator("li.attachment.kind-file a")
    expect(file_link).to_contain_text("notes.txt")

    # The picture opens large in the page, the file downloads with its name and content.
    picture.click()
    expect(bob_page.locator("#lightbox")).to_be_visible()
    expect(bob_page.locator("#lightbox img")).to_have_js_property("complete", True)
    bob_page.keyboard.press("Escape")
    expect(bob_page.locator("#lightbox")).to_be_hidden()
    with bob_page.expect_download() as download_info:
        file_link.click()
    download = download_info.value
    assert download.suggested_filename == "notes.txt"
    saved = tmp_path / "notes.txt"
    download.save_as(saved)
    assert saved.read_bytes() == b"Agenda: ship it.\n"

    # Reloaded, the server renders the same entry; a stranger gets 404 for both files.
    bob_page.reload()
    expect(message.locator("li.attachment")).to_have_count(2)
    urls = message.locator("li.attachment a").evaluate_all("links => links.map(a => a.href)")
    carol_page = page_for(carol)
    for url in urls:
        assert carol_page.request.get(url).status == 404


def test_bad_files_are_refused_with_a_clear_error_and_nothing_is_kept(server, page_for, trio):
    alice, _, _, room = trio
    page = page_for(alice)
    open_room(page, room)

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    attach(page, {"name": "drawing.svg", "mimeType": "image/svg+xml", "buffer": svg})
    error = page.locator("#composer-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("drawing.svg")
    expect(page.locator("#upload-tray li.upload")).to_have_count(0)

    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    attach(page, {"name": "page.png", "mimeType": "image/png", "buffer": html})
    expect(error).to_contain_text("page.png")
    expect(page.locator("#upload-tray li.upload")).to_have_count(0)

    assert off_loop(lambda: Attachment.objects.count()) == 0


def test_a_pasted_screenshot_is_attached(server, page_for, trio) -> None:
    alice, _, _, room = trio
    page = page_for(alice)
    open_room(page, room)
    page.locator("form#composer textarea[name=body]").focus()
    page.evaluate(
        """async (bytes) => {
            const file = new File([new Uint8Array(bytes)], "screenshot.png", {type: "image/png"});
            const data = new DataTransfer();
            data.items.add(file);
            const box = document.querySelector("form#composer textarea[name=body]");
            box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""",
        list(png((300, 200))),
    )
    wait_uploaded(page, 1)
    send_composer(page)
    expect(page.locator("#timeline li.message.mine li.attachment.kind-image img")).to_have_count(1)
    preview = page.locator(f"#sidebar a.room-link[data-room-id='{room.public_id}'] .preview")
    expect(preview).to_have_text("Alice: sent files")  # not "Alice: " and nothing
    page.reload()
    expect(preview).to_have_text("Alice: sent files")

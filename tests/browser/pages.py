"""Reading and driving Parley's pages as the DOM contract describes them."""

import re
import time
from typing import Any

from playwright.sync_api import Locator, Page, expect


def room_path(room: Any) -> str:
    return f"/rooms/{room.public_id}/"


def wait_live(page: Page, timeout: float = 10_000) -> None:
    """Wait until the page's socket says it is live (`#connection[data-state=live]`)."""
    expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=timeout)


def open_room(page: Page, room: Any) -> None:
    page.goto(room_path(room))
    expect(page.locator("#room")).to_have_attribute("data-room-id", str(room.public_id))
    wait_live(page)


def message_at(page: Page, seq: int) -> Locator:
    return page.locator(f"#timeline li.message[data-seq='{seq}']")


def text_message(page: Page, body: str) -> Locator:
    """The text message whose `.body` is exactly `body`."""
    return page.locator("#timeline li.message").filter(
        has=page.locator(".body", has_text=exact_text(body))
    )


def exact_text(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def shown_seqs(page: Page) -> list[int]:
    """Every `li.message[data-seq]` in the timeline, in document order."""
    return page.eval_on_selector_all(
        "#timeline li.message[data-seq]", "items => items.map(li => Number(li.dataset.seq))"
    )


def send(page: Page, text: str) -> float:
    """Type `text` in the composer and press Enter; the monotonic time Enter was pressed."""
    box = page.locator("form#composer textarea[name=body]")
    box.click()
    box.fill(text)
    pressed = time.monotonic()
    box.press("Enter")
    return pressed


def wait_for_text(page: Page, body: str, timeout: float = 5_000) -> float:
    """Wait for a text message with exactly `body`; the monotonic time it was there."""
    text_message(page, body).wait_for(state="attached", timeout=timeout)
    return time.monotonic()


def fully_shown(locator: Locator) -> bool:
    """Whether the element is wholly on screen: inside the window and every box that clips it."""
    return locator.evaluate(
        """element => {
            const rect = element.getBoundingClientRect();
            let top = 0, left = 0, bottom = innerHeight, right = innerWidth;
            for (let box = element.parentElement; box; box = box.parentElement) {
                const style = getComputedStyle(box);
                if (style.overflowX === "visible" && style.overflowY === "visible") continue;
                const clip = box.getBoundingClientRect();
                top = Math.max(top, clip.top);
                left = Math.max(left, clip.left);
                bottom = Math.min(bottom, clip.bottom);
                right = Math.min(right, clip.right);
            }
            const slack = 1;
            return rect.width > 0 && rect.height > 0 && rect.top >= top - slack
                && rect.left >= left - slack && rect.bottom <= bottom + slack
                && rect.right <= right + slack;
        }"""
    )

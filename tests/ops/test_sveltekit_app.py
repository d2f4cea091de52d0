"""Serving the built SvelteKit app at /app/ (ops/sveltekit_app.py), on a build made here."""

import base64
import hashlib
from pathlib import Path

import pytest
from django.test import Client

from ops import sveltekit_app

START = '\n  { import("/app/_app/immutable/bundle.abc.js").then((app) => app.start()); }\n'
ANNOUNCER = "position: absolute; width: 1px"


def source_hash(code: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()}'"


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    immutable = tmp_path / "_app" / "immutable"
    immutable.mkdir(parents=True)
    (tmp_path / "index.html").write_text(f"<!doctype html><div><script>{START}</script></div>")
    (immutable / "bundle.abc.js").write_text(f'const a = `<div style="{ANNOUNCER}"></div>`;')
    (tmp_path / "_app" / "version.json").write_text('{"version": "1"}')
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    monkeypatch.setattr(sveltekit_app, "BUILD", tmp_path)
    sveltekit_app._build.cache_clear()
    return tmp_path


@pytest.mark.parametrize("path", ["/app", "/app/", "/app/login", "/app/rooms/some-room"])
def test_every_view_of_the_app_is_its_page_with_a_csrf_cookie(client: Client, build, path) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert START in response.content.decode()
    assert "csrftoken" in response.cookies


def test_the_page_allows_exactly_the_builds_inline_code(client: Client, build) -> None:
    policy = client.get("/app/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == f"'self' {source_hash(START)}"
    assert directives["style-src-attr"] == f"'unsafe-hashes' {source_hash(ANNOUNCER)}"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy


def test_built_files_are_served_and_hashed_ones_cached_for_good(client: Client, build) -> None:
    bundle = client.get("/app/_app/immutable/bundle.abc.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle["Content-Type"]
    assert "immutable" in bundle["Cache-Control"]
    version = client.get("/app/_app/version.json")
    assert version.status_code == 200
    assert "immutable" not in version["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/app/_app/immutable/missing.js",
        "/app/_app/../../secret.txt",
        "/app/_app/%2e%2e/%2e%2e/secret.txt",
        "/app/_app/x%00.js",
    ],
)
def test_missing_files_and_paths_outside_the_build_are_404(client: Client, build, path) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"outside the build" not in response.content


def test_a_view_path_leading_outside_the_build_is_the_page(client: Client, build) -> None:
    response = client.get("/app/../secret.txt")
    assert response.status_code == 200
    assert START in response.content.decode()


def test_only_safe_methods(client: Client, build) -> None:
    assert client.post("/app/").status_code == 405


def test_an_unbuilt_app_says_how_to_build_it(client: Client, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sveltekit_app, "BUILD", tmp_path / "nothing")
    response = client.get("/app/")
    assert response.status_code == 503
    assert b"make app" in response.content

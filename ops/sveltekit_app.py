"""The SvelteKit client (frontend/), built to static files, served at /app/ from Parley's origin.

Same origin means the session cookie, CSRF and the socket work as on Parley's own pages, with no
CORS. Files the build wrote are served as they are (the content-hashed ones under
`_app/immutable/` cached for a year); every other path is a view of the app, answered with its
index.html. Its Content-Security-Policy allows, by their hashes, exactly the inline code the build
holds: SvelteKit's start-up script in index.html, and the `style` attribute of its route
announcer (in the bundle's markup). Nothing else inline may run there either.
"""

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from ops.security_headers import content_security_policy

BUILD = Path(settings.BASE_DIR) / "frontend" / "build"
IMMUTABLE = "_app/immutable/"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
STYLE_ATTRIBUTE = re.compile(r'style="([^"\\]*)"')

NOT_BUILT = (
    "The SvelteKit app is not built. Run `make app` (or `npm ci && npm run --workspace frontend "
    "build`) and reload.\n"
)


@require_safe
def app_file_or_page(request: HttpRequest, path: str = "") -> HttpResponseBase:
    """A file of the build, or (for any other path) the app's page."""
    if path:
        built = _built_file(path)
        if built is not None:
            return _file(built, immutable=path.startswith(IMMUTABLE))
        if path.startswith("_app/"):  # a missing script or style is not a page of the app
            return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    return _page(request)


def _built_file(path: str) -> Path | None:
    """The file at `path` inside the build, never outside it."""
    root = BUILD.resolve()
    try:
        candidate = (root / path).resolve()
    except (OSError, ValueError):  # a NUL byte, a name too long
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _file(path: Path, *, immutable: bool) -> FileResponse:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = (
        "public, max-age=31536000, immutable" if immutable else "public, max-age=0, must-revalidate"
    )
    return response


@ensure_csrf_cookie
def _page(request: HttpRequest) -> HttpResponse:
    index = BUILD / "index.html"
    if not index.is_file():
        return HttpResponse(NOT_BUILT, status=503, content_type="text/plain; charset=utf-8")
    built = _build(index, index.stat().st_mtime_ns)
    response = HttpResponse(built.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = content_security_policy(
        request, script_hashes=built.scripts, style_attribute_hashes=built.style_attributes
    )
    return response


@dataclass(frozen=True)
class _Build:
    html: str
    scripts: tuple[str, ...]
    style_attributes: tuple[str, ...]


@lru_cache(maxsize=1)
def _build(index: Path, mtime_ns: int) -> _Build:
    """index.html and the hashes of the build's inline code (read again after a rebuild)."""
    html = index.read_text(encoding="utf-8")
    styles = {
        style
        for bundle in sorted((BUILD / IMMUTABLE).rglob("*.js"))
        for style in STYLE_ATTRIBUTE.findall(bundle.read_text(encoding="utf-8"))
    }
    return _Build(
        html=html,
        scripts=tuple(_hash_source(body) for body in INLINE_SCRIPT.findall(html)),
        style_attributes=tuple(_hash_source(style) for style in sorted(styles)),
    )


def _hash_source(code: str) -> str:
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    return f"'sha256-{digest}'"

"""The headers every page carries: Content-Security-Policy, Permissions-Policy, Cache-Control.

Django's own middleware sends the rest (nosniff, Referrer-Policy, Cross-Origin-Opener-Policy,
X-Frame-Options, HSTS; see config/settings.py). Static files never reach this middleware:
WhiteNoise answers them before it, with their own long-lived caching.

The policy allows no inline script or style anywhere Parley renders HTML: templates put data in
data attributes or `json_script` blocks and behaviour in the modules under chat/static/chat/.
A page that needs inline code is a bug, and the browser tests fail on any CSP report.

Our own few lines rather than django-csp: with nothing inline there are no nonces to hand out,
the policy is one fixed string, and the other two headers need a middleware anyway. Django 6.0
has CSP built in (SECURE_CSP); POLICY is written in its shape for that upgrade.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

POLICY: Mapping[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    # data: for the empty favicon (`<link rel="icon" href="data:,">`) that stops the browser
    # asking for /favicon.ico, and for the API documentation's SVG icons in its stylesheet.
    "img-src": ("'self'", "data:"),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}

# The API's documentation page (drf-spectacular's Swagger UI) starts itself with an inline
# script and styles itself with an inline <style>; it shows the schema and no user data, so
# only it may run inline code. The admin needs no exception (Django 5.2's admin templates load
# every script from a file; tests/browser/test_security_headers.py opens its pages).
RELAXED: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "api:docs": {
        "script-src": ("'self'", "'unsafe-inline'"),
        "style-src": ("'self'", "'unsafe-inline'"),
    },
}

# Parley asks for none of these; denied, a script injected into a page cannot either.
# Only features Chromium knows: it reports an unknown name in the console of every page.
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)


def content_security_policy(
    request: HttpRequest,
    *,
    script_hashes: tuple[str, ...] = (),
    style_attribute_hashes: tuple[str, ...] = (),
) -> str:
    """The policy for the page answering `request`, which may run the inline scripts and style
    attributes whose hashes it names (the SvelteKit app's, ops/sveltekit_app.py)."""
    match = request.resolver_match
    directives = {**POLICY, **RELAXED.get(match.view_name if match else "", {})}
    if script_hashes:
        directives["script-src"] = (*directives["script-src"], *script_hashes)
    if style_attribute_hashes:
        directives["style-src-attr"] = ("'unsafe-hashes'", *style_attribute_hashes)
    socket = _socket_origin(request)
    if socket:
        directives["connect-src"] = (*directives["connect-src"], socket)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _socket_origin(request: HttpRequest) -> str | None:
    """The page's own origin as ws: or wss:, for the socket parley.js opens.

    CSP Level 3 browsers (current Chromium, Firefox, Safari) count same-origin ws: and wss: as
    'self'; Level 2 ones do not, and would refuse the socket without the origin named.
    """
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # the answer is a 400 that opens no socket
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


class SecurityHeaders:
    """Adds the policy headers and keeps every page out of shared and browser caches.

    Sync and async alike, so that it adds no switch to a thread of its own to an async chain.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        # Django hands a sync middleware a sync get_response, an async one an async one.
        return add_headers(request, cast(HttpResponseBase, self.get_response(request)))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        return add_headers(request, response)


def add_headers(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Sets the headers the view did not set itself."""
    # Django's debug pages (a traceback, the URL list of a 404) are made of inline script and
    # style; with DEBUG on they are shown as they are.
    if not (settings.DEBUG and response.status_code in (404, 500)):
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    # Everything Django answers is someone's page or data, or carries a CSRF token (the log-in
    # and sign-up forms): no proxy or browser cache may keep it, and Back after logging out must
    # ask the server again rather than show the last page from memory. A view that chose its
    # own caching (never_cache on the probes) keeps it.
    if "Cache-Control" not in response.headers:
        patch_cache_control(response, private=True, no_store=True)
    return response

"""ASGI entry point: HTTP goes to Django, WebSocket to the Parley socket consumer."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# WhiteNoise hands Django a file iterator that Django reads in a thread; correct, just noisy.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous")
# Django must be set up before anything imports models (the consumer, the auth middleware).
django_asgi_app = get_asgi_application()

from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.consumers.auth import TokenOrSessionAuth  # noqa: E402
from chat.consumers.limits import HandshakeRateLimit  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from ops.body_limit import ENVELOPE, BodyLimit  # noqa: E402
from ops.limits import raise_open_files_limit  # noqa: E402
from ops.logs import OnePerOutage  # noqa: E402

# Every socket is an open file: a process at its limit resets new connections silently.
raise_open_files_limit()
# While PostgreSQL or Redis is down, one line per outage rather than a traceback per failure.
OnePerOutage.install()
# Channels builds its layer on first use without a lock: a socket on the event loop and a page
# in a worker thread could each build one, and a group joined on one never hears the other.
get_channel_layer()

application = ProtocolTypeRouter(
    {
        # Only the two places that take files accept more than a form's worth of body.
        "http": BodyLimit(
            django_asgi_app,
            limits=[
                (r"/api/v1/rooms/[^/]+/uploads", settings.PARLEY_UPLOAD_MAX_BYTES + ENVELOPE),
                (r"/accounts/profile/", settings.PARLEY_AVATAR_MAX_BYTES + ENVELOPE),
            ],
            default=settings.DATA_UPLOAD_MAX_MEMORY_SIZE + ENVELOPE,
        ),
        # Handshakes are counted per address before any login is looked up. Session sockets
        # are checked against ALLOWED_HOSTS (Origin); token sockets need none.
        "websocket": HandshakeRateLimit(TokenOrSessionAuth(URLRouter(websocket_urlpatterns))),
    }
)

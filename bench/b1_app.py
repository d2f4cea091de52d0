"""B1: a chat consumer written the way the Channels tutorial teaches, without tuning.

One socket per room at `/ws/chat/<room>/`; `group_add` on connect, one `group_send` per
received message, and the group event sent on as JSON. Unlike the tutorial there is no
AuthMiddlewareStack (it needs a session database; B1 has none) and no templates.
"""

import json
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.b1_settings")
http_application = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

urlpatterns: list = []


class RoomConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = "room_" + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data)["message"]
        await self.channel_layer.group_send(
            self.group, {"type": "chat.message", "message": message}
        )

    async def chat_message(self, event: dict) -> None:
        await self.send(text_data=json.dumps({"message": event["message"]}))


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(
            URLRouter([re_path(r"^ws/chat/(?P<room>\w+)/$", RoomConsumer.as_asgi())])
        ),
    }
)

"""WebSocket routes: one socket per tab carries every room (docs/protocol.md)."""

from django.urls import path

from chat.consumers.socket import ParleySocket

websocket_urlpatterns = [path("ws/", ParleySocket.as_asgi())]

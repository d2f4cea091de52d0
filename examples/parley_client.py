"""A small Parley client: a token, the REST API to send, the socket to receive.

    python examples/parley_client.py --url http://127.0.0.1:8000 --token parley_... \
        --room General --message "Hello from a bot"

It lists the rooms you can see, joins the named room if needed, connects to the socket,
posts the message over the API, and waits until the socket delivers it back. Needs only the
standard library and `websockets`. Create a token at /accounts/tokens/.
"""

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import websockets


class Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL is the user's own server
            f"{self.base_url}/api/v1/{path}", data=data, headers=self.headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            problem = json.load(error).get("error", {})
            reason = f"{problem.get('code')}: {problem.get('message')}"
            raise SystemExit(f"{method} {path}: {reason}") from None

    def all_pages(self, path: str) -> list[Any]:
        """Every result of a paged list, following `next_cursor` until it is null."""
        results: list[Any] = []
        query = {"limit": "100"}
        while True:
            page = self.call("GET", f"{path}?{urllib.parse.urlencode(query)}")
            results += page["results"]
            if page["next_cursor"] is None:
                return results
            query["cursor"] = page["next_cursor"]


async def run(url: str, token: str, room_name: str, text: str) -> dict[str, Any]:
    api = Api(url, token)
    me = api.call("GET", "me")
    rooms = api.all_pages("rooms")
    print(f"Logged in as {me['username']}; rooms: {', '.join(r['name'] for r in rooms)}")
    room = next((r for r in rooms if r["name"].lower() == room_name.lower()), None)
    if room is None:
        raise SystemExit(f"No room called {room_name!r} that you can see.")
    if not room["is_member"]:
        api.call("POST", f"rooms/{room['id']}/join")

    socket_url = url.replace("http", "ws", 1).rstrip("/") + "/ws/"
    async with websockets.connect(
        socket_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as socket:
        hello = json.loads(await socket.recv())
        print(f"Socket open: protocol {hello['protocol']}, {len(hello['rooms'])} rooms")
        client_id = str(uuid.uuid4())
        api.call("POST", f"rooms/{room['id']}/messages", {"body": text, "client_id": client_id})
        async with asyncio.timeout(10):
            while True:
                frame = json.loads(await socket.recv())
                if frame["type"] == "message.new" and frame["message"]["client_id"] == client_id:
                    message = frame["message"]
                    print(f"Delivered live: #{message['seq']} {message['body']}")
                    return message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--room", default="General")
    parser.add_argument("--message", default="Hello from the example client")
    args = parser.parse_args()
    asyncio.run(run(args.url, args.token, args.room, args.message))


if __name__ == "__main__":
    sys.exit(main())

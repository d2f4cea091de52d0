"""Bench users, tokens and rooms, made with Parley's own code (run inside Django).

`python -m bench.dataset` reads a JSON spec on stdin and prints what it made as JSON:
    {"users": 12, "rooms": [{"name": "one", "members": [0, 1, ...]}, ...]}
Users get unusable passwords (no hashing to wait for) and one access token each. Each room is
created by its first member, who adds the others (`room_create`, `member_add`), so the
timelines hold the "joined" lines a real room would.
"""

import json
import os
import sys
from typing import Any


def build(spec: dict[str, Any]) -> dict[str, Any]:
    from accounts.models import User
    from accounts.tokens import token_create
    from chat.services.rooms import member_add, room_create

    prefix = spec.get("prefix", "bench")
    users = [
        User.objects.create_user(username=f"{prefix}{number:05d}", password=None)
        for number in range(spec["users"])
    ]
    tokens = [token_create(user, name="bench")[1] for user in users]
    rooms = {}
    for room_spec in spec["rooms"]:
        creator = users[room_spec["members"][0]]
        room = room_create(creator, name=room_spec["name"], join=True)
        for number in room_spec["members"][1:]:
            member_add(creator, room=room, user=users[number])
        room.refresh_from_db()
        rooms[room_spec["name"]] = {
            "pk": room.pk,
            "public_id": str(room.public_id),
            "members": room_spec["members"],
            "last_seq": room.last_seq,
        }
    return {
        "users": [
            {"pk": user.pk, "token": token} for user, token in zip(users, tokens, strict=True)
        ],
        "rooms": rooms,
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    json.dump(build(json.load(sys.stdin)), sys.stdout)


if __name__ == "__main__":
    main()

"""Demo users and rooms for trying Parley locally. Safe to run again: it adds what is missing."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from chat.models import Membership, Room
from chat.services.messages import message_post
from chat.services.rooms import member_add, room_create, room_join

DEMO_PASSWORD = "parley-demo"  # noqa: S105
DEMO_USERS = [
    # username, display name, is_staff
    ("admin", "Ada Admin", True),
    ("alice", "Alice", False),
    ("bob", "Bob", False),
    ("carol", "Carol", False),
]
DEMO_ROOMS = [
    # name, visibility, members
    ("General", Room.Visibility.PUBLIC, ["alice", "bob", "carol"]),
    ("Random", Room.Visibility.PUBLIC, ["bob"]),
    ("Founders", Room.Visibility.INVITE, ["alice", "bob"]),
    ("Staff lounge", Room.Visibility.STAFF, ["admin"]),
]
DEMO_LINES = [
    ("alice", "General", "Welcome to Parley! This room is public: anyone can join."),
    ("bob", "General", "Hi Alice. Founders is invite-only, Staff lounge is for staff."),
]


class Command(BaseCommand):
    help = "Create demo users and rooms (idempotent). Refuses to run with DEBUG off."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (known passwords!)."
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with a known password; DEBUG is off.")
        users = {name: self._user(name, shown, staff) for name, shown, staff in DEMO_USERS}
        admin = users["admin"]
        for name, visibility, members in DEMO_ROOMS:
            room = Room.objects.filter(kind=Room.Kind.GROUP, name=name).first()
            if room is None:
                room = room_create(admin, name=name, visibility=visibility, join=False)
            for username in members:
                if Membership.objects.filter(room=room, user=users[username]).exists():
                    continue
                if visibility == Room.Visibility.PUBLIC:
                    room_join(users[username], room_id=room.public_id)
                else:
                    member_add(admin, room=room, user=users[username])
        for username, room_name, body in DEMO_LINES:
            room = Room.objects.get(kind=Room.Kind.GROUP, name=room_name)
            client_id = f"demo-{room.slug}-{DEMO_LINES.index((username, room_name, body))}"
            message_post(users[username], room_id=room.public_id, body=body, client_id=client_id)
        self.stdout.write(
            "Demo users: "
            + ", ".join(name for name, _, _ in DEMO_USERS)
            + f" (password: {DEMO_PASSWORD}; admin is staff and can open /admin/)."
        )

    def _user(self, username: str, display_name: str, is_staff: bool) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                display_name=display_name,
                is_staff=is_staff,
                is_superuser=is_staff,
            )
        return user

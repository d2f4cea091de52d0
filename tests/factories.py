"""Test data. Users come from a factory; chat state is made through the services, as in use."""

import factory

from accounts.models import User
from chat.models import Room
from chat.services.rooms import member_add, room_create, room_join

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda user: user.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


def make_room(
    creator: User | None = None,
    *,
    name: str | None = None,
    visibility: str = Room.Visibility.PUBLIC,
    members: list[User] = (),
) -> Room:
    """A group room created by `creator` (a new staff user if none), with `members` in it."""
    creator = creator or UserFactory(is_staff=True)
    room = room_create(
        creator,
        name=name or f"room {Room.objects.count() + 1}",
        visibility=visibility,
    )
    for member in members:
        if visibility == Room.Visibility.PUBLIC:
            room_join(member, room_id=room.public_id)
        else:
            member_add(creator, room=room, user=member)
    room.refresh_from_db()
    return room

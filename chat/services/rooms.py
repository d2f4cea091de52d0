"""Creating rooms, joining, leaving, and what operators change in the admin."""

import uuid

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import User
from chat import ratelimit
from chat.models import Membership, Message, Room
from chat.realtime import publish
from chat.room_access import can_manage, can_see_room, require_open
from chat.selectors.access import member_room, room_for_user
from chat.services.timeline import timeline_append
from chat.services.validation import clean_room_name
from core.errors import AlreadyMember, Forbidden, InvalidInput, NotMember


def _append_line(room: Room, *, kind: str, author: User, body: str = "") -> Message:
    """A system line in the timeline, sent to the room after commit. Room row locked."""
    line = timeline_append(room, kind=kind, author=author, body=body)
    publish.timeline_entry(line)
    return line


def _slug_for(name: str, public_id: uuid.UUID) -> str:
    return slugify(name, allow_unicode=True)[:80] or public_id.hex[:12]


def require_free_room_name(name: str, *, except_room: Room | None = None) -> None:
    """Refuse a name another group room has (case-insensitive); the constraint backs this up."""
    taken = Room.objects.filter(kind=Room.Kind.GROUP, name__iexact=name)
    if except_room is not None:
        taken = taken.exclude(pk=except_room.pk)
    if taken.exists():
        raise InvalidInput("A room with that name already exists.", field="name")


def _lock(room: Room) -> Room:
    return Room.objects.select_for_update(of=("self",)).get(pk=room.pk)


def _require_room_admin(actor: User, room: Room) -> None:
    # Staff may manage a room whatever their role in it: no query for them.
    if can_manage(actor, role=None):
        return
    role = Membership.objects.filter(room=room, user=actor).values_list("role", flat=True).first()
    if not can_manage(actor, role=role):
        raise Forbidden("Only room admins and staff may do that.")


def room_create(
    user: User, *, name: object, visibility: str = Room.Visibility.PUBLIC, join: bool = True
) -> Room:
    """Create a group room; with `join`, `user` becomes its first member and room admin."""
    clean_name = clean_room_name(name)
    if visibility not in Room.Visibility.values:
        raise InvalidInput("Unknown visibility.", field="visibility")
    if visibility == Room.Visibility.STAFF and not user.is_staff:
        raise Forbidden("Only staff may create staff-only rooms.")
    require_free_room_name(clean_name)
    public_id = uuid.uuid4()
    slug = _slug_for(clean_name, public_id)
    try:
        with transaction.atomic():
            room = Room.objects.create(
                public_id=public_id,
                name=clean_name,
                slug=slug,
                visibility=visibility,
                created_by=user,
            )
            if join:
                line = _append_line(room, kind=Message.Kind.JOINED, author=user)
                Membership.objects.create(
                    room=room, user=user, role=Membership.Role.ADMIN, last_read_seq=line.seq
                )
                publish.member_change(room, user, joined=True)
    except IntegrityError:
        raise InvalidInput("A room with that name already exists.", field="name") from None
    return room


def room_join(user: User, *, room_id: uuid.UUID | str) -> Membership:
    """Join a room the user can see; writes a "joined" line to its timeline."""
    ratelimit.take_write(user.pk)
    with transaction.atomic():
        room = room_for_user(user, room_id, lock=True)
        require_open(room)
        if Membership.objects.filter(room=room, user=user).exists():
            raise AlreadyMember()
        line = _append_line(room, kind=Message.Kind.JOINED, author=user)
        publish.member_change(room, user, joined=True)
        return Membership.objects.create(room=room, user=user, last_read_seq=line.seq)


def room_leave(user: User, *, room_id: uuid.UUID | str) -> Message:
    """Leave a room; writes a "left" line to its timeline and returns it."""
    ratelimit.take_write(user.pk)
    with transaction.atomic():
        membership = member_room(user, room_id, lock=True)
        room = membership.room
        if room.kind == Room.Kind.DIRECT:
            raise Forbidden("A direct conversation cannot be left.")
        membership.delete()
        line = _append_line(room, kind=Message.Kind.LEFT, author=user)
        publish.member_change(room, user, joined=False)
        return line


def member_add(
    actor: User, *, room: Room, user: User, role: str = Membership.Role.MEMBER
) -> Membership:
    """Add `user` to a group room (how invite-only rooms get members). Room admins and staff."""
    if role not in Membership.Role.values:
        raise InvalidInput("Unknown role.", field="role")
    with transaction.atomic():
        room = _lock(room)
        _require_room_admin(actor, room)
        if room.kind != Room.Kind.GROUP:
            raise Forbidden("Members of a direct conversation cannot change.")
        if Membership.objects.filter(room=room, user=user).exists():
            raise AlreadyMember(f"{user} is already a member of {room}.")
        line = _append_line(room, kind=Message.Kind.JOINED, author=user)
        publish.member_change(room, user, joined=True)
        return Membership.objects.create(room=room, user=user, role=role, last_read_seq=line.seq)


def member_set_role(actor: User, *, room: Room, user: User, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise InvalidInput("Unknown role.", field="role")
    with transaction.atomic():
        room = _lock(room)
        _require_room_admin(actor, room)
        membership = Membership.objects.filter(room=room, user=user).first()
        if membership is None:
            raise NotMember(f"{user} is not a member of {room}.")
        membership.role = role
        membership.save(update_fields=["role"])
        return membership


def member_remove(actor: User, *, room: Room, user: User) -> None:
    """Remove `user` from a group room; writes a "left" line. Room admins and staff."""
    with transaction.atomic():
        room = _lock(room)
        _require_room_admin(actor, room)
        if room.kind != Room.Kind.GROUP:
            raise Forbidden("Members of a direct conversation cannot change.")
        deleted, _ = Membership.objects.filter(room=room, user=user).delete()
        if not deleted:
            raise NotMember(f"{user} is not a member of {room}.")
        _append_line(room, kind=Message.Kind.LEFT, author=user)
        publish.member_change(room, user, joined=False)


def room_update(
    actor: User,
    *,
    room: Room,
    name: object | None = None,
    visibility: str | None = None,
    is_archived: bool | None = None,
) -> Room:
    """Rename, change visibility, archive or unarchive; renames and archiving are timeline lines."""
    with transaction.atomic():
        room = _lock(room)
        _require_room_admin(actor, room)
        if visibility is not None and visibility != room.visibility:
            if visibility not in Room.Visibility.values:
                raise InvalidInput("Unknown visibility.", field="visibility")
            if visibility == Room.Visibility.STAFF and not actor.is_staff:
                raise Forbidden("Only staff may make a room staff-only.")
            room.visibility = visibility
            room.save(update_fields=["visibility"])
            # Members who may no longer see it (non-staff, once it is staff-only) drop it.
            for member in User.objects.filter(memberships__room=room):
                if not can_see_room(member, room, is_member=True):
                    publish.access_lost(room, member)
        if name is not None:
            clean_name = clean_room_name(name)
            if clean_name != room.name:
                require_free_room_name(clean_name, except_room=room)
                room.name = clean_name
                room.slug = _slug_for(clean_name, room.public_id)
                room.save(update_fields=["name", "slug"])
                _append_line(room, kind=Message.Kind.RENAMED, author=actor, body=clean_name)
        if is_archived is not None and is_archived != room.is_archived:
            room.is_archived = is_archived
            room.save(update_fields=["is_archived"])
            kind = Message.Kind.ARCHIVED if is_archived else Message.Kind.UNARCHIVED
            _append_line(room, kind=kind, author=actor)
        return room


def room_delete(actor: User, *, room: Room) -> None:
    """Delete a room with its whole timeline. Staff only."""
    if not actor.is_staff:
        raise Forbidden("Only staff may delete rooms.")
    with transaction.atomic():
        room = _lock(room)
        for member in User.objects.filter(memberships__room=room):
            publish.member_change(room, member, joined=False)
        room.delete()

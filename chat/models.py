"""Rooms, memberships and the per-room timeline of messages.

Only `chat.services` writes these models; everything else reads through `chat.selectors`.
Who may see, post in and manage a room is chat.room_access, which also holds the room kinds,
visibilities and member roles that rule is stated in.
"""

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from chat.room_access import Role, RoomKind, RoomQuerySet, Visibility

if TYPE_CHECKING:
    from accounts.models import User


class Room(models.Model):
    Kind = RoomKind
    Visibility = Visibility

    # The id clients see in URLs and frames: stable and not guessable, unlike the primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GROUP)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    is_archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The last timeline seq handed out; advanced only under a row lock (see services.timeline).
    last_seq = models.BigIntegerField(default=0, editable=False)
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)
    # "<smaller user id>:<larger user id>" for direct conversations: one room per pair, enforced
    # by the database even when both people open it at the same moment.
    direct_key = models.CharField(max_length=41, null=True, blank=True, unique=True, editable=False)

    members: "models.ManyToManyField[User, Membership]" = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="rooms"
    )
    # Set by the gate (chat.selectors.access.room_for_user): (user id, that user's membership
    # or None), so that membership_for() right after it does not ask the database again.
    membership_read: tuple[int, "Membership | None"]

    # visible_to(user) and postable_by(user): the access rule as queries.
    objects = RoomQuerySet.as_manager()

    class Meta:
        constraints = [
            # Two group rooms may not share a name, whatever its case.
            models.UniqueConstraint(
                Lower("name"), condition=Q(kind="group"), name="chat_room_group_name_ci_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="group", direct_key__isnull=True)
                | Q(kind="direct", direct_key__isnull=False),
                name="chat_room_direct_key_iff_direct",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    Role = Role

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    last_read_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "room"], name="chat_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.room}"


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        JOINED = "joined", "Joined"
        LEFT = "left", "Left"
        RENAMED = "renamed", "Renamed"
        ARCHIVED = "archived", "Archived"
        UNARCHIVED = "unarchived", "Unarchived"

    # No index of its own: the (room, seq) constraint's index serves every lookup by room, and
    # with a second one PostgreSQL counted unread messages through the room-only index,
    # filtering the whole timeline (a sidebar read took 36 ms at 100,000 messages a room, 1 ms
    # without it).
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    # Position in the room's timeline: 1, 2, 3 ... in commit order, never reused.
    seq = models.BigIntegerField()
    # Empty for system lines that no user wrote, and after the author's account is deleted.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TEXT)
    # The Markdown source as its author wrote it: the stored truth, what an edit starts from.
    body = models.TextField(blank=True)
    # `body` rendered and sanitized (chat.formatting.render_body) by the services that post and
    # edit; "" for system lines and deleted messages. The database default covers rows written
    # without it (by code older than the column).
    body_html = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Chosen by the sending client so that a retried send returns the first message.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (NULL: no id, so no uniqueness)
    # The earlier text message of the same room this one answers (chat.services.messages checks
    # both). Messages are deleted as tombstones, so the link normally outlives its target's text.
    reply_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        db_index=False,
    )
    # An honoured `@room` (chat.services.mentions): every member was mentioned. The database
    # default covers the one-statement post (chat.services.timeline), which does not name it.
    mentions_room = models.BooleanField(default=False, db_default=False)
    # Set by the history read and the services (a Prefetch to_attr, or the list they attached)
    # so that chat.wire shows a message's files without a query per message.
    attachment_list: list["Attachment"]
    # Likewise the message's reactions, in the order they were added (chat.wire sums them up).
    reaction_list: list["Reaction"]
    # Likewise the mentions by name (chat.services.mentions), in the order they were recorded.
    mention_list: list["Mention"]
    # Set by the history read's page statement: whether the message has any files, reactions
    # and mentions by name, so that it reads each only for the messages that have some.
    details_present: tuple[bool, bool, bool]

    class Meta:
        constraints = [
            # Also the index behind "newest page" (room, seq desc) and "after seq N" reads.
            models.UniqueConstraint(fields=["room", "seq"], name="chat_message_room_seq_unique"),
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="chat_message_author_client_id_unique",
            ),
        ]
        indexes = [
            # For setting replies' link to NULL when a message row goes (a room deleted): only
            # replies are indexed, so other posts pay nothing for it.
            models.Index(
                fields=["reply_to"],
                condition=Q(reply_to__isnull=False),
                name="chat_message_reply_to",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room} #{self.seq}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Reaction(models.Model):
    """One user's emoji on one text message: a set per user and message, so each at most once.

    Not a timeline entry: adding or removing one changes the message's state, as an edit does.
    """

    # No index of its own: the unique constraint's index, led by the message, serves loading a
    # page's reactions (message IN (...)) and the cascade when a message goes.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reactions", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    # One emoji (chat.emoji.clean_emoji): at most 32 bytes of UTF-8, so at most 32 characters.
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="chat_reaction_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.message_id}"


class Mention(models.Model):
    """A user mentioned in a text message (chat.services.mentions): by name, or as a member
    when the message said `@room`. Only members who could see the room, never the author."""

    # No index of its own: the unique constraint's index, led by the message, serves loading
    # a page's mentions and the cascade when a message goes.
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="mentions", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions", db_index=False
    )
    # The message's room and seq, copied so that counting a user's unread mentions per room
    # (seq after their read marker) reads one index and no message row.
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    # Named as @username (listed in the message's `mentions`), rather than only by @room.
    by_name = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="chat_mention_unique"),
        ]
        indexes = [
            # Unread mentions per room (the sidebar) and a user's mentions, newest first.
            models.Index(fields=["user", "room", "seq"], name="chat_mention_user_room_seq"),
            models.Index(fields=["user", "-id"], name="chat_mention_user_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.message_id}"


def upload_path(instance: "Attachment", filename: str) -> str:
    """Where an uploaded file is stored: a random name, never the user's (which is only shown),
    so storage paths can neither be guessed nor steered with `../`."""
    now = timezone.now()
    return f"uploads/{now:%Y}/{now:%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file uploaded to a room, unattached until it is posted in a message of that room."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        FILE = "file", "File"

    # The only id clients see (in frames and download URLs).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Empty after the uploader's account is deleted; the message keeps its files.
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="attachments")
    # Null until the upload is posted in a message (chat.services.messages.message_post).
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=upload_path, max_length=200)
    thumbnail = models.FileField(upload_to=upload_path, max_length=200, blank=True)
    # The user's file name, cleaned for showing (chat.services.attachments.clean_file_name).
    name = models.CharField(max_length=200)
    # What Parley found in the bytes, never what the client said.
    content_type = models.CharField(max_length=120)
    size = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The daily quota: one user's uploads of the last day.
            models.Index(fields=["uploader", "created_at"], name="chat_attach_uploader_time"),
            # purge_uploads: uploads never posted, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(message__isnull=True),
                name="chat_attach_unattached_time",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return self.Kind.IMAGE if self.width is not None else self.Kind.FILE


@receiver(post_delete, sender=Attachment)
def _delete_files_with_the_row(
    sender: type[Attachment], instance: Attachment, **kwargs: Any
) -> None:
    """The stored files go when the row does, after the commit, whatever deleted it: a deleted
    message, purge_uploads, or a room or account deleted in the admin (a cascade)."""
    names = [field.name for field in (instance.file, instance.thumbnail) if field.name]
    storage = instance.file.storage

    def delete_files() -> None:
        for name in names:
            storage.delete(name)

    # robust: a storage that fails here (S3 unreachable) leaves the files behind and logs it,
    # rather than failing a delete that has already committed.
    transaction.on_commit(delete_files, using=kwargs.get("using"), robust=True)

"""The operators' view: rooms with their members, and a searchable message log.

Every change made here goes through the same services as the rest of Parley, so renames,
archiving and membership changes appear in the timeline like any other.
"""

# Annotations stay unevaluated: BaseInlineFormSet and ModelForm take type arguments only in
# django-stubs, not at run time.
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from accounts.models import User
from chat.models import Attachment, Membership, Message, Room
from chat.services.rooms import (
    member_add,
    member_remove,
    member_set_role,
    require_free_room_name,
    room_create,
    room_delete,
    room_update,
)
from chat.services.validation import clean_room_name
from core.errors import ParleyError


def _acting_user(request: HttpRequest) -> User:
    """The signed-in user an admin action acts as, typed as a User for the services.

    ModelAdmin's methods take a plain HttpRequest, whose user may be anonymous. The admin site
    lets only active staff in, so the PermissionDenied never fires in practice; it is there
    so the check is explicit rather than assumed.
    """
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


class RoomAdminForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ("name", "visibility", "is_archived")

    def clean_name(self) -> str:
        """The services' own checks, so a refused name is shown on the form, not after saving."""
        try:
            name = clean_room_name(self.cleaned_data["name"])
            require_free_room_name(name, except_room=self.instance if self.instance.pk else None)
        except ParleyError as error:
            raise forms.ValidationError(error.message) from None
        return name


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "joined_at", "last_read_seq")
    readonly_fields = ("joined_at", "last_read_seq")
    autocomplete_fields = ("user",)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "visibility", "is_archived", "last_seq", "created_at")
    list_filter = ("kind", "visibility", "is_archived")
    search_fields = ("name", "slug")
    fields = ("name", "visibility", "is_archived", "kind", "slug", "public_id", "last_seq")
    readonly_fields = ("kind", "slug", "public_id", "last_seq")
    inlines = (MembershipInline,)
    form = RoomAdminForm

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Messages and files go with their room (room_delete); deleting them needs no
        # permission of its own.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(str(Message._meta.verbose_name))
        perms_needed.discard(str(Attachment._meta.verbose_name))
        return deleted, model_count, perms_needed, protected

    def save_model(
        self, request: HttpRequest, obj: Room, form: ModelForm[Room], change: bool
    ) -> None:
        actor = _acting_user(request)
        try:
            if change:
                room_update(
                    actor,
                    room=obj,
                    name=obj.name,
                    visibility=obj.visibility,
                    is_archived=obj.is_archived,
                )
            else:
                created = room_create(actor, name=obj.name, visibility=obj.visibility, join=False)
                if obj.is_archived:
                    room_update(actor, room=created, is_archived=True)
                obj.pk = created.pk
            obj.refresh_from_db()
        except ParleyError as error:
            self.message_user(request, error.message, level=messages.ERROR)

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm[Room],
        formset: BaseInlineFormSet[Membership, Room, ModelForm[Membership]],
        change: bool,
    ) -> None:
        actor = _acting_user(request)
        room: Room = form.instance
        # The admin's change message reads these, as if formset.save() had run.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if room.pk is None:
            return
        for member_form in formset.forms:
            if not member_form.has_changed() or not member_form.cleaned_data:
                continue
            old = member_form.instance if member_form.instance.pk else None
            data = member_form.cleaned_data
            try:
                if member_form in formset.deleted_forms:
                    if old is not None:
                        member_remove(actor, room=room, user=old.user)
                        formset.deleted_objects.append(old)
                elif old is None:
                    added = member_add(actor, room=room, user=data["user"], role=data["role"])
                    formset.new_objects.append(added)
                elif "user" in member_form.changed_data:
                    previous = Membership.objects.get(pk=old.pk).user
                    member_remove(actor, room=room, user=previous)
                    added = member_add(actor, room=room, user=data["user"], role=data["role"])
                    formset.new_objects.append(added)
                else:
                    changed = member_set_role(actor, room=room, user=old.user, role=data["role"])
                    formset.changed_objects.append((changed, member_form.changed_data))
            except ParleyError as error:
                self.message_user(request, error.message, level=messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: Room) -> None:
        room_delete(_acting_user(request), room=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        actor = _acting_user(request)
        for room in queryset:
            room_delete(actor, room=room)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: messages change only through the services (edit/delete by their authors)."""

    list_display = ("room", "seq", "author", "kind", "short_body", "created_at", "deleted_at")
    list_filter = ("kind", "room", "author")
    search_fields = ("body", "author__username", "room__name")
    list_select_related = ("room", "author")
    ordering = ("room", "-seq")
    readonly_fields = [field.name for field in Message._meta.fields]

    @admin.display(description="body")
    def short_body(self, message: Message) -> str:
        return message.body[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Read-only: files come and go with uploads and messages (a deleted message deletes its
    files; purge_uploads the uploads never posted)."""

    list_display = ("name", "room", "uploader", "content_type", "size", "message", "created_at")
    list_filter = ("content_type",)
    search_fields = ("name", "uploader__username", "room__name")
    list_select_related = ("room", "uploader", "message")
    ordering = ("-created_at",)
    readonly_fields = [field.name for field in Attachment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Attachment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Attachment | None = None) -> bool:
        return False

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.forms import ParleyAdminUserCreationForm
from accounts.models import AccessToken, User
from accounts.tokens import access_revoke_all, token_revoke


@admin.register(User)
class ParleyUserAdmin(UserAdmin):
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Parley", {"fields": ("display_name",)}))
    list_display = ("username", "display_name", "email", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    actions = ["log_out_everywhere"]
    # New names under the sign-up's rules: NFKC, one script, no look-alike of an existing one.
    add_form = ParleyAdminUserCreationForm

    @admin.action(
        description="Log out everywhere: end every session, revoke every token",
        permissions=["change"],
    )
    def log_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(access_revoke_all(user, via=AccessToken.Origin.SERVER) for user in queryset)
        self.message_user(
            request,
            f"Logged out {len(queryset)} user(s) everywhere; {revoked} token(s) revoked.",
            messages.SUCCESS,
        )


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are created by their users and ended by revoking, never edited here.

    Deleting is off too: a revoked row is the record of what existed.
    """

    list_display = (
        "name",
        "user",
        "created_via",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("created_via",)
    search_fields = ("name", "user__username")
    list_select_related = ("user", "created_by")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # Revoking changes a token, though nothing else here may: the model's change permission.
        return request.user.has_perm("accounts.change_accesstoken")

    @admin.action(description="Revoke, with the tokens each created", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        for token in queryset.select_related("user"):
            token_revoke(token.user, token_id=token.pk)
        self.message_user(request, f"Revoked {len(queryset)} token(s).", messages.SUCCESS)

"""People: the user directory and profiles, adapters over chat.selectors.users."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from api.serializers_users import ProfileOut, UserListOut, UsersQuery
from api.views.common import ERRORS, ApiView, AuthenticatedRequest, parse
from chat.selectors.users import user_profile, users_directory


class UsersView(ApiView):
    @extend_schema(
        parameters=[UsersQuery],
        responses={200: UserListOut, **ERRORS},
        tags=["users"],
        operation_id="users_list",
        summary="Active users, by username, optionally those whose name starts with `q`",
        description=(
            "Any authenticated user may list every active user, as the web UI's "
            '"start a conversation" lets them find anyone by name; deactivated accounts are '
            "never listed. Paged by cursor: pass `next_cursor` back as `cursor` until it is "
            "null. A cursor this list did not hand out, `limit` outside 1..100 or a `q` over "
            "150 characters is 400 `invalid`. `online` is whether they are connected now."
        ),
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(UsersQuery, request.query_params.dict())
        page = users_directory(
            request.user,
            query=query.get("q"),
            cursor=query.get("cursor"),
            limit=query["limit"],
        )
        return Response({"results": page.rows, "next_cursor": page.next_cursor})


class UserView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "username", str, OpenApiParameter.PATH, description="Their username, in any case"
            )
        ],
        # A path segment cannot be invalid: a name no account has is simply not found.
        responses={200: ProfileOut, **{code: ERRORS[code] for code in (401, 404, 503)}},
        tags=["users"],
        operation_id="users_retrieve",
        summary="One active user's profile, by username in any case",
        description=(
            "404 `user_not_found` for a name no active account has: unknown and deactivated "
            "users get the same answer."
        ),
    )
    def get(self, request: AuthenticatedRequest, username: str) -> Response:
        return Response(user_profile(request.user, username=username))

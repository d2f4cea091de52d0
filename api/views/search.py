"""Searching the messages of the rooms one may read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from api.serializers_across_rooms import SearchOut, SearchQuery
from api.views.common import ERRORS, WRITE_ERRORS, ApiView, AuthenticatedRequest, parse
from chat import wire
from chat.selectors.search import search_messages


class SearchView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description="Words to find (at most 200 characters); on PostgreSQL also "
                '"a phrase", -excluded and or',
            ),
            OpenApiParameter("room", str, description="Only this room's messages (its id)"),
            OpenApiParameter("author", str, description="Only this author's (a username)"),
            OpenApiParameter("cursor", str, description="The next_cursor of the page before"),
            OpenApiParameter("limit", int, description="Page size (default 20, at most 50)"),
        ],
        responses={200: SearchOut, **ERRORS, 403: WRITE_ERRORS[403], 429: WRITE_ERRORS[429]},
        tags=["search"],
        summary="Text messages of the rooms you are in that match, newest first",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(SearchQuery, request.query_params.dict())
        page = search_messages(
            request.user,
            query=query["q"],
            room_id=query.get("room"),
            author=query.get("author"),
            cursor=query.get("cursor"),
            limit=query.get("limit"),
        )
        return Response(
            {
                "results": [wire.search_hit_data(**vars(hit)) for hit in page.hits],
                "next_cursor": page.next_cursor,
            }
        )

"""The user's mentions, newest first."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from api.serializers_across_rooms import MentionsOut, MentionsQuery
from api.views.common import ERRORS, ApiView, AuthenticatedRequest, parse
from chat import wire
from chat.selectors.mentions import mentions_page


class MentionsView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="Mentions with an id below this"),
            OpenApiParameter("limit", int, description="Page size (default 50, at most 200)"),
        ],
        responses={200: MentionsOut, **ERRORS},
        tags=["messages"],
        summary="Your mentions in rooms you are a member of, newest first",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(MentionsQuery, request.query_params.dict())
        page = mentions_page(request.user, **query)
        return Response(
            {
                "mentions": [wire.mention_data(mention) for mention in page.mentions],
                "has_more": page.has_more,
            }
        )

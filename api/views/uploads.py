"""Uploading a file to a room, to post it in a message of that room."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.parsers import LimitedMultiPartParser
from api.serializers import AttachmentOut, ErrorOut, UploadIn
from api.views.common import WRITE_ERRORS, ApiView, AuthenticatedRequest, parse
from chat import wire
from chat.services.attachments import attachment_upload

UPLOAD_ERRORS = {
    **WRITE_ERRORS,
    413: OpenApiResponse(
        ErrorOut,
        description="`file_too_large` (over PARLEY_UPLOAD_MAX_BYTES, refused before it is read "
        "when Content-Length says so) or `image_too_large` (more pixels than "
        "PARLEY_IMAGE_MAX_PIXELS)",
    ),
    415: OpenApiResponse(
        ErrorOut,
        description="`file_type_not_allowed`: the type found in the bytes is not in "
        "PARLEY_UPLOAD_TYPES (HTML and SVG never are); or `unsupported_media_type`: the body "
        "is not multipart/form-data",
    ),
    429: OpenApiResponse(
        ErrorOut,
        description="`upload_quota_exceeded` (PARLEY_UPLOAD_DAILY_BYTES in 24 hours) or "
        "`rate_limited`",
    ),
}


class UploadsView(ApiView):
    parser_classes = [LimitedMultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadIn},
        responses={201: AttachmentOut, **UPLOAD_ERRORS},
        tags=["messages"],
        summary="Upload a file to a room; post it with a message's `attachments`",
        description="The file stays unposted, visible only to you, until a message names its "
        "id; one never posted is deleted after a day. Images are re-encoded without their "
        "metadata (EXIF location included) and get a thumbnail.",
    )
    def post(self, request: AuthenticatedRequest, room_id: str) -> Response:
        data = parse(UploadIn, request.data)
        attachment = attachment_upload(request.user, room_id=room_id, upload=data["file"])
        return Response(wire.attachment_data(attachment), status=status.HTTP_201_CREATED)

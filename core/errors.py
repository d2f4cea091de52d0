"""Domain errors, each with a stable code that pages, the API and the socket all report.

`HTTP_STATUS` is the one table from error class to HTTP status; the socket sends the code
and message in an error frame.
"""

from typing import ClassVar

import redis
from django.db import InterfaceError, OperationalError


class ParleyError(Exception):
    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "Something went wrong."

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class InvalidInput(ParleyError):
    code = "invalid"
    default_message = "The request is not valid."


class BodyEmpty(InvalidInput):
    code = "body_empty"
    default_message = "A message cannot be empty."


class BodyTooLong(InvalidInput):
    code = "body_too_long"
    default_message = "The message is too long."


class BodyInvalid(InvalidInput):
    code = "body_invalid"
    default_message = "The message contains characters that cannot be sent."


class QueryEmpty(InvalidInput):
    code = "query_empty"
    default_message = "Type something to search for."


class QueryTooLong(InvalidInput):
    code = "query_too_long"
    default_message = "The search is too long."


class QueryInvalid(InvalidInput):
    """A search with characters no text can hold (NUL, lone surrogates)."""

    code = "query_invalid"
    default_message = "The search contains characters that cannot be searched for."


class RoomNotFound(ParleyError):
    """The room does not exist or the user may not see it: the two are never told apart."""

    code = "room_not_found"
    default_message = "No such room."


class UserNotFound(ParleyError):
    """No active user by that name: missing and deactivated accounts look the same."""

    code = "user_not_found"
    default_message = "No such user."


class TokenNotFound(ParleyError):
    """Not one of your access tokens: someone else's looks the same as a missing one."""

    code = "token_not_found"
    default_message = "No such token."


class MessageNotFound(ParleyError):
    code = "message_not_found"
    default_message = "No such message."


class ReplyNotFound(InvalidInput):
    """`reply_to` names no text message this one may answer: none in the room by that seq, a
    system line, a deleted message, or one not yet posted. A refused post stores nothing."""

    code = "reply_not_found"
    default_message = "There is no message with that seq to reply to in this room."


class NotMember(ParleyError):
    code = "not_member"
    default_message = "You are not a member of this room."


class AlreadyMember(ParleyError):
    code = "already_member"
    default_message = "You are already a member of this room."


class RoomArchived(ParleyError):
    code = "room_archived"
    default_message = "This room is archived and read-only."


class MessageDeleted(ParleyError):
    code = "message_deleted"
    default_message = "That message was deleted."


class TooManyReactions(ParleyError):
    """A new emoji on a message that has as many different ones as it may have
    (chat.services.reactions.MAX_EMOJI_PER_MESSAGE); an emoji already there can still be
    added."""

    code = "too_many_reactions"
    default_message = "This message has as many different reactions as it may have."


class Forbidden(ParleyError):
    code = "forbidden"
    default_message = "You may not do that."


class SessionRequired(Forbidden):
    """Only a logged-in session, with the password typed again, may do this; an access token
    may not (creating tokens, logging out everywhere), so a leaked token cannot make itself
    lasting access."""

    code = "session_required"
    default_message = "This needs a logged-in session and your password, not an access token."


class PasswordIncorrect(ParleyError):
    """The password typed again to confirm an act is not the user's."""

    code = "password_incorrect"
    default_message = "That is not your password."


class FileTooLarge(ParleyError):
    code = "file_too_large"
    default_message = "The file is too large."


class ImageTooLarge(ParleyError):
    """An image whose pixels would take more memory to decode than Parley allows, however
    small the file (an image bomb)."""

    code = "image_too_large"
    default_message = "The image has too many pixels."


class FileTypeNotAllowed(ParleyError):
    """The type Parley found in the file's bytes (not the one the client named) is not on the
    allowlist."""

    code = "file_type_not_allowed"
    default_message = "Files of this type cannot be shared here."


class FileInvalid(InvalidInput):
    """The file is what its bytes say it is, but broken (a truncated or corrupt image)."""

    code = "file_invalid"
    default_message = "The file could not be read."


class AttachmentNotFound(ParleyError):
    """No such file, or not one the user may download: the two are never told apart."""

    code = "attachment_not_found"
    default_message = "No such file."


class UploadQuotaExceeded(ParleyError):
    code = "upload_quota_exceeded"
    default_message = "You have uploaded as much as you may in one day; try again later."


class RateLimited(ParleyError):
    code = "rate_limited"
    default_message = "Slow down: too many messages."

    def __init__(self, message: str | None = None, *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(ParleyError):
    """The database or Redis did not answer. Like any failure in flight, the request may or
    may not have taken effect: a retry with the same client_id is safe."""

    code = "unavailable"
    default_message = "Parley cannot reach its database or Redis right now; try again shortly."


# Failures of what Parley depends on (connection lost, refused, timed out), reported to
# clients as Unavailable rather than as an internal error.
OUTAGES: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
)


HTTP_STATUS: dict[type[ParleyError], int] = {
    InvalidInput: 400,
    RoomNotFound: 404,
    MessageNotFound: 404,
    AttachmentNotFound: 404,
    UserNotFound: 404,
    TokenNotFound: 404,
    MessageDeleted: 409,
    TooManyReactions: 409,
    NotMember: 403,
    Forbidden: 403,
    SessionRequired: 403,
    PasswordIncorrect: 403,
    AlreadyMember: 409,
    RoomArchived: 409,
    RateLimited: 429,
    FileTooLarge: 413,
    ImageTooLarge: 413,
    FileTypeNotAllowed: 415,
    UploadQuotaExceeded: 429,
    Unavailable: 503,
}


def http_status_for(error: ParleyError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400

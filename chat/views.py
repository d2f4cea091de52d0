"""Pages: parse the form, call one service or selector, render the result or the error."""

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.models import User
from chat import wire
from chat.forms import MessageForm, RoomForm
from chat.models import Message, Room
from chat.selectors.access import member_room
from chat.selectors.members import room_members_with_presence
from chat.selectors.mentions import mentions_page
from chat.selectors.messages import history_page
from chat.selectors.rooms import direct_peer, rooms_directory
from chat.selectors.search import QUERY_MAX_LENGTH, SearchHit, search_messages
from chat.selectors.sidebar import sidebar_rooms, unread_count
from chat.services.direct import direct_open
from chat.services.messages import message_post
from chat.services.reads import read_mark
from chat.services.rooms import room_create, room_join, room_leave
from core.errors import InvalidInput, ParleyError, http_status_for

# Where a room's id goes in the sidebar entry that the page's script clones for a room joined
# live (templates/chat/_sidebar.html).
PLACEHOLDER_ROOM_ID = str(uuid.UUID(int=0))
# The first page of a room reaches back to the first unread message, up to this many entries.
UNREAD_PAGE_MAX = 200


def _error_page(request: HttpRequest, error: ParleyError) -> HttpResponse:
    return render(request, "chat/error.html", {"error": error}, status=http_status_for(error))


def _with_sidebar(user: User, context: dict[str, Any]) -> dict[str, Any]:
    """A page's context plus the sidebar: the user's rooms, and one empty entry per kind."""
    placeholders = [
        {
            "id": PLACEHOLDER_ROOM_ID,
            "kind": kind,
            "name": "",
            "peer": None,
            "unread": 0,
            "unread_mentions": 0,
        }
        for kind in Room.Kind.values
    ]
    return {**context, "my_rooms": sidebar_rooms(user), "sidebar_placeholders": placeholders}


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "chat/home.html",
        _with_sidebar(
            request.user,
            {
                "directory": rooms_directory(request.user),
                "room_form": RoomForm(),
                "parley_config": {"me": request.user.username, "room": None},
            },
        ),
    )


@login_required
def mentions(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user's mentions, newest first, each linking to its place in the room."""
    before = request.GET.get("before", "")
    try:
        page = mentions_page(request.user, before=int(before) if before.isdigit() else None)
    except ParleyError as error:
        return _error_page(request, error)
    context = {"page": page, "parley_config": {"me": request.user.username, "room": None}}
    return render(request, "chat/mentions.html", _with_sidebar(request.user, context))


@login_required
@require_POST
def create_room(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = RoomForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the room a name of at most 80 characters.")
        return redirect("chat:home")
    try:
        room = room_create(
            request.user, name=form.cleaned_data["name"], visibility=form.cleaned_data["visibility"]
        )
    except ParleyError as error:
        messages.error(request, error.message)
        return redirect("chat:home")
    return redirect("chat:room", room_id=room.public_id)


@login_required
@require_POST
def open_direct(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        room = direct_open(request.user, username=request.POST.get("username", ""))
    except ParleyError as error:
        messages.error(request, error.message)
        return redirect("chat:home")
    return redirect("chat:room", room_id=room.public_id)


@login_required
def room(request: AuthenticatedHttpRequest, room_id: uuid.UUID) -> HttpResponse:
    try:
        anchor = _anchor_seq(request.GET.get("at"))
        membership = member_room(request.user, room_id)
        read_before = membership.last_read_seq
        if anchor is not None:
            # Opened at one message (a reply's quote, a link): the page around it, newer entries
            # behind a gap marker (parley.js), and nothing marked read.
            page = history_page(request.user, room_id=room_id, around=anchor)
        else:
            unread = unread_count(request.user, membership.room, read_before)
            page = history_page(
                request.user,
                room_id=room_id,
                limit=min(UNREAD_PAGE_MAX, max(settings.PARLEY_HISTORY_PAGE_SIZE, unread + 10)),
            )
            if page.messages:  # showing the newest page is reading it
                read_mark(request.user, room_id=room_id, seq=page.messages[-1].seq)
    except ParleyError as error:
        return _error_page(request, error)
    last_shown = page.messages[-1].seq if page.messages else page.room.last_seq
    peer = direct_peer(request.user, page.room)
    title = peer.shown_name if peer is not None else page.room.name
    return render(
        request,
        "chat/room.html",
        _with_sidebar(
            request.user,
            {
                "room": page.room,
                "title": title,
                "page": page,
                # What live entries are cloned from: the partial that renders the page's own.
                "template_messages": [
                    Message(kind=kind, seq=0, author=request.user) for kind in Message.Kind.values
                ],
                "template_attachments": [
                    {"kind": kind, "name": "", "url": "", "size": 0} for kind in ("image", "file")
                ],
                "parley_config": {
                    "me": request.user.username,
                    "room": str(page.room.public_id),
                    # Live delivery goes on from the room's end; with ?at the entries between
                    # the page and that end are a gap the script fills as it comes into view.
                    "cursor": page.room.last_seq if anchor is not None else last_shown,
                    "read_before": read_before,
                    "at": anchor,
                    "gap_after": last_shown if page.has_more_after else None,
                },
            },
        ),
    )


def _anchor_seq(value: str | None) -> int | None:
    """The `?at=` of a room page: a seq to open at, or None for the newest page."""
    if value is None:
        return None
    if not value.isdecimal() or len(value) > 16 or int(value) < 1:
        raise InvalidInput(
            "The 'at' of a room's address must be a seq: a whole number of 1 or more."
        )
    return int(value)


@login_required
def older_history(request: AuthenticatedHttpRequest, room_id: uuid.UUID) -> HttpResponse:
    """An htmx partial: the page of messages before `before`, with the next sentinel."""
    try:
        before = int(request.GET.get("before", ""))
        page = history_page(request.user, room_id=room_id, before=before)
    except ValueError:
        return HttpResponse("'before' must be a whole number.", status=400)
    except ParleyError as error:
        return HttpResponse(error.message, status=http_status_for(error))
    return render(request, "chat/_older.html", {"room": page.room, "page": page})


@login_required
def members(request: AuthenticatedHttpRequest, room_id: uuid.UUID) -> HttpResponse:
    """An htmx partial: the member list with who is online now."""
    try:
        member_list = room_members_with_presence(request.user, room_id=room_id)
    except ParleyError as error:
        return HttpResponse(error.message, status=http_status_for(error))
    return render(request, "chat/_members.html", member_list)


@login_required
@require_POST
def post(request: AuthenticatedHttpRequest, room_id: uuid.UUID) -> HttpResponse:
    form = MessageForm(request.POST)
    form.is_valid()
    try:
        message_post(
            request.user,
            room_id=room_id,
            body=form.cleaned_data.get("body", ""),
            client_id=form.cleaned_data.get("client_id") or None,
        )
    except ParleyError as error:
        messages.error(request, error.message)
    return redirect("chat:room", room_id=room_id)


@login_required
@require_POST
def join(request: AuthenticatedHttpRequest, room_id: uuid.UUID) -> HttpResponse:
    try:
        room_join(request.user, room_id=room_id)
    except ParleyError as error:
        return _error_page(request, error)
    return redirect("chat:room", room_id=room_id)


@login_required
@require_http_methods(["GET", "POST"])
def leave(request: AuthenticatedHttpRequest, room_id: uuid.UUID) -> HttpResponse:
    """GET asks to confirm; POST leaves."""
    try:
        if request.method == "GET":
            membership = member_room(request.user, room_id)
            return render(request, "chat/leave.html", {"room": membership.room})
        room_leave(request.user, room_id=room_id)
    except ParleyError as error:
        return _error_page(request, error)
    return redirect("chat:home")


@login_required
def search(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The search page; with `cursor`, from htmx, only the next results (after the first)."""
    query = request.GET.get("q")
    filters = {
        "room_id": request.GET.get("room") or None,
        "author": request.GET.get("author") or None,
    }
    context: dict[str, Any] = {
        "query": query or "",
        "room_filter": filters["room_id"] or "",
        "author_filter": filters["author"] or "",
        "query_max_length": QUERY_MAX_LENGTH,
        "parley_config": {"me": request.user.username, "room": None},
    }
    status = 200
    if query is not None:
        cursor = request.GET.get("cursor") or None
        try:
            page = search_messages(request.user, query=query, cursor=cursor, **filters)
        except ParleyError as error:
            if cursor is not None:
                return HttpResponse(error.message, status=http_status_for(error))
            context["error"] = error
            status = http_status_for(error)
        else:
            context["results"] = [_search_result(hit) for hit in page.hits]
            context["next_cursor"] = page.next_cursor
            if cursor is not None:
                return render(request, "chat/_search_results.html", context)
    return render(request, "chat/search.html", _with_sidebar(request.user, context), status=status)


def _search_result(hit: SearchHit) -> dict[str, Any]:
    """A result as the API sends it, plus its excerpt cut at the matches, to mark them."""
    data = wire.search_hit_data(**vars(hit))
    parts: list[dict[str, Any]] = []
    shown = 0
    for start, end in hit.matches:
        parts.append({"text": hit.excerpt[shown:start], "match": False})
        parts.append({"text": hit.excerpt[start:end], "match": True})
        shown = end
    parts.append({"text": hit.excerpt[shown:], "match": False})
    parts = [part for part in parts if part["text"]]
    return {**data, "created": hit.message.created_at, "parts": parts}

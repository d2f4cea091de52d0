"""Reads. Nothing here writes; every read of a room goes through `access` (`room_for_user`,
`member_room`)."""

"""Delete uploads never posted in a message: run it daily (cron, a systemd timer)."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chat.services.attachments import attachment_purge_unattached


class Command(BaseCommand):
    help = "Delete uploads never posted in a message and older than a day: rows and files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=float,
            default=24,
            help="Age in hours an unposted upload must have reached (default 24).",
        )

    def handle(self, *args: Any, older_than_hours: float, **options: Any) -> None:
        removed = attachment_purge_unattached(older_than=timedelta(hours=older_than_hours))
        for attachment in removed:
            self.stdout.write(
                f"removed {attachment.public_id} {attachment.name!r} ({attachment.size} bytes, "
                f"uploaded {attachment.created_at:%Y-%m-%d %H:%M} UTC): {attachment.file.name}"
            )
        total = sum(attachment.size for attachment in removed)
        self.stdout.write(f"{len(removed)} unposted uploads removed, {total} bytes.")

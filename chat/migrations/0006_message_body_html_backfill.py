"""Render the text messages stored before Message.body_html existed, a batch at a time."""

from django.db import migrations, transaction

BATCH_SIZE = 500


def render_stored_messages(apps, schema_editor):
    # The renderer of the day, not a frozen copy: what it makes of a body is what the
    # services store for a new message, so old and new messages look alike.
    from chat.formatting import render_body

    Message = apps.get_model("chat", "Message")
    database = schema_editor.connection.alias
    last_pk = 0
    while True:
        # One transaction per batch, so a large table is not held in one; the batch's rows are
        # locked while they are rendered, so an edit made meanwhile is not overwritten.
        with transaction.atomic(using=database):
            batch = list(
                Message.objects.using(database)
                .select_for_update()
                .filter(pk__gt=last_pk, kind="text", deleted_at__isnull=True, body_html="")
                .order_by("pk")
                .only("pk", "body")[:BATCH_SIZE]
            )
            if not batch:
                return
            for message in batch:
                message.body_html = render_body(message.body)
            Message.objects.using(database).bulk_update(batch, ["body_html"])
        last_pk = batch[-1].pk


class Migration(migrations.Migration):
    # Each batch commits on its own (see above).
    atomic = False

    dependencies = [
        ("chat", "0005_message_body_html"),
    ]

    operations = [
        migrations.RunPython(render_stored_messages, migrations.RunPython.noop, elidable=True),
    ]

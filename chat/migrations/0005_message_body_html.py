from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_attachment"),
    ]

    operations = [
        # With a database default, adding the column rewrites no rows on PostgreSQL, and rows
        # inserted by code that does not know the column yet get "" (shown as plain text).
        migrations.AddField(
            model_name="message",
            name="body_html",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
    ]

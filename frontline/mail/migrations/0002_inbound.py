"""InboundMail.inline_images: content-id -> attachment pk of the images an HTML mail shows inline."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmail",
            name="inline_images",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text=(
                    "Content-ID (without <>) -> Attachment pk of the images the HTML shows inline."
                ),
            ),
        ),
    ]

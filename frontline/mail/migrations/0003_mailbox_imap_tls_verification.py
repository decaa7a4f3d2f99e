"""IMAP over TLS verifies the server's certificate: a CA file per mailbox, or an explicit
"allow an untrusted certificate" (off). Before this, IMAPS and STARTTLS accepted any
certificate (Python's imaplib does not verify by default); a mailbox whose server shows a
self-signed certificate now fails with a certificate error in its last error until the admin
sets one of the two."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0002_inbound"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailbox",
            name="imap_allow_untrusted",
            field=models.BooleanField(
                default=False,
                help_text="Accept whatever certificate the server shows (self-signed, expired, issued for another name): the connection is encrypted but anyone on the way could read the password. Only for a server on a network you control; a CA file is safer.",
                verbose_name="Allow an untrusted IMAP certificate",
            ),
        ),
        migrations.AddField(
            model_name="mailbox",
            name="imap_ca_file",
            field=models.CharField(
                blank=True,
                help_text="Path of a PEM file, on the machines that fetch mail, with the CA certificate (or the server's own self-signed certificate) to trust for this server. Empty: the system's trusted CAs.",
                max_length=500,
                verbose_name="IMAP CA file",
            ),
        ),
    ]

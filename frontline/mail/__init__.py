"""The email channel: mailboxes, inbound intake (IMAP, SMTP, pipe), outbound notifications."""

"""Portal: the self-service pages for end users (their tickets, new ticket, replies) and the
mailed status links. Uses tickets' services and selectors only."""

"""SECURITY.md 13, for mail: HTML mail with script, event handlers, javascript:/data: URLs, svg
onload, base, meta refresh, form, iframe, CSS expressions shows nothing active on the desk's
and the portal's ticket pages, and those pages carry a strict Content-Security-Policy.

Mail reaches the timeline as InboundMail.body_html, sanitised by nh3 at ingest. The pages
sanitise it again on render (mail_tags), so the payloads are checked three ways: stored as
ingest stores them, stored raw (as if ingest had let them through: the render alone must make
them inert), and hidden in the quoted history and signature that the page folds away. Plain
text mail is escaped."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from frontline.mail.tests.ui_factories import Sent, mail_reply, mail_ticket

from .conftest import active_content, signed_in
from .test_13_html_sanitised_and_csp import PAYLOADS, _assert_inert, _assert_strict_csp

# Mail-specific tricks on top of the payloads every page is tested with.
MAIL_PAYLOADS = [
    '<svg><animate onbegin="alert(\'a1\')" attributeName="x" dur="1s"></animate></svg>',
    '<svg><a xlink:href="javascript:alert(\'a2\')"><text x="20" y="20">x</text></a></svg>',
    "<a href=\"vbscript:msgbox('vb')\">vb</a>",
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="cid:missing@x" onerror="alert(\'c1\')">',
    '<a href="cid:part1@x">cid link</a>',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<style>@import 'https://evil.example/x.css'; body { background: url(javascript:alert(1)) }"
    "</style>",
    '<div style="behavior: url(x.htc); -moz-binding: url(x.xml#xss)">binding</div>',
    '<form action="https://evil.example/"><button formaction="javascript:alert(\'f1\')">go'
    "</button></form>",
    "<table background=\"javascript:alert('t1')\"><tr><td>cell</td></tr></table>",
    "<xmp><script>alert('x3')</script></xmp>",
    "<!--<script>alert('c2')</script>-->",
    "<frameset onload=alert('fs')><frame src=\"javascript:alert('fr')\"></frameset>",
    '<meta http-equiv="Content-Security-Policy" content="script-src *">',
    '<base target="_blank" href="javascript:alert(\'b2\')//">',
    "<a href=\"&#106;avascript:alert('j6')\">entity</a>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "<video><source onerror=\"alert('vd')\"></video>",
]
ALL_MAIL = PAYLOADS + MAIL_PAYLOADS
# Payloads whose unclosed raw-text element (style, xmp, noscript, a comment) swallows the rest
# of the document, as it would in a browser: placed last, inside the quoted history, so the
# parts before them still exist to be checked.
SWALLOWING = [p for p in ALL_MAIL if any(t in p for t in ("<style", "<xmp", "<noscript", "<!--"))]
ORDINARY = [p for p in ALL_MAIL if p not in SWALLOWING]
HTML = (
    "<p>Printer still jams.</p>"
    + "".join(f"<div>{p}</div>" for p in ORDINARY)
    + "<p>-- </p><p>Alice Acme</p>"
    + "".join(f"<span>{p}</span>" for p in ORDINARY[:6])
    + "<div>On Mon, 3 Nov 2026 at 09:12, Support &lt;help@frontline.test&gt; wrote:</div>"
    + "<blockquote>"
    + "".join(f"<p>{p}</p>" for p in ORDINARY + SWALLOWING)
    + "</blockquote>"
)
TEXT = "Printer still jams.\n\n" + "\n".join(ALL_MAIL)
HOSTILE_NAME = "<script>alert('name')</script>Mallory"


def _hostile() -> Sent:
    return Sent(
        subject="<img src=x onerror=alert('subject')> Printer",
        text=TEXT,
        html=HTML,
        sender="mallory@acme.example",
        sender_name=HOSTILE_NAME,
    )


def _pages(desk, ticket) -> list[tuple[str, str, Any]]:
    agent, user = signed_in(desk.agent1), signed_in(desk.user_a)
    out = []
    for client, url in (
        (agent, reverse("tickets:ticket-detail", args=[ticket.number])),
        (user, reverse("portal:ticket-detail", args=[ticket.number])),
    ):
        for headers in ({}, {"HX-Request": "true"}) if url.startswith("/desk/") else ({},):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, url
            out.append((f"{url} {headers}", response.content.decode(), response))
    return out


def _assert_mail_inert(html: str, where: str) -> None:
    _assert_inert(html, where)
    for payload in MAIL_PAYLOADS:
        assert payload not in html, f"{where}: {payload}"
    # Inside any tag (escaped text, e.g. the ticket's description, may mention them).
    for needle in ("onbegin", "formaction", "-moz-binding", "behavior", "vbscript:", "xlink:",
                   "evil.example", "background="):  # fmt: skip
        assert not re.search(rf"<[^>]*{re.escape(needle)}", html, re.I), f"{where}: {needle}"


def test_detector_sees_the_mail_payloads():
    """The parser used below flags the mail payloads it is meant to see when fed them raw."""
    seen_raw = [p for p in MAIL_PAYLOADS if active_content(p)]
    assert len(seen_raw) >= 10, seen_raw


@pytest.mark.parametrize("stored_raw", [False, True], ids=["as-ingested", "stored-unsanitised"])
def test_hostile_html_mail_is_inert_on_desk_and_portal(desk, stored_raw):
    ticket, mail = mail_ticket(desk, desk.user_a, _hostile())
    _, reply = mail_reply(desk, ticket, desk.user_a, _hostile())
    if stored_raw:
        # As if ingest had stored the message without sanitising it.
        for row in (mail, reply):
            row.body_html = HTML
            row.save(update_fields=["body_html"])
    for where, html, _ in _pages(desk, ticket):
        _assert_mail_inert(html, where)
        # The message itself is there, and so are its folded parts.
        assert html.count("Printer still jams.") >= 2, where
        assert html.count('<details class="mail-quote">') == 2, where
        assert html.count('<details class="mail-signature">') == 2, where
    # The desk shows the sender's name: as text.
    desk_page = _pages(desk, ticket)[0][1]
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;Mallory" in desk_page


def test_hostile_text_mail_is_escaped(desk):
    sent = Sent(text=TEXT, html="", sender="mallory@acme.example", sender_name="Mallory")
    ticket, _ = mail_ticket(desk, desk.user_a, sent)
    mail_reply(desk, ticket, desk.user_a, sent)
    for where, html, _ in _pages(desk, ticket):
        _assert_mail_inert(html, where)
        assert "&lt;script&gt;alert(&#x27;s1&#x27;)&lt;/script&gt;" in html, where


def test_mail_pages_carry_a_strict_csp(desk):
    ticket, _ = mail_ticket(desk, desk.user_a, _hostile())
    for where, _, response in _pages(desk, ticket):
        _assert_strict_csp(response, where)
        assert response["X-Content-Type-Options"] == "nosniff", where
        # Remote images in mail are dropped, and the policy would block them anyway.
        policy = response["Content-Security-Policy"]
        img = next(d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["img-src"])
        assert not {"*", "http:", "https:"} & set(img), where

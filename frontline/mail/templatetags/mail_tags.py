"""Received mail on ticket pages: the message's HTML (or text), sanitised again, with its
inline images pointed at the attachment download view and quoted history and signatures
folded away (but kept) in collapsed <details>.

The stored HTML was already sanitised by nh3 at ingest; it is sanitised again here, with a
narrower allowlist (defence in depth: a bug or a laxer setting at ingest, or rows written by an
older version, must still render inert). Remote images are dropped (tracking pixels; the
Content-Security-Policy would block them anyway), `cid:` images become the download URL of an
attachment the viewer may see, or nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import nh3
import quotequail  # type: ignore[import-untyped]
from django import template
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from frontline.mail.models import InboundMail
from frontline.tickets.models import Attachment, Ticket

register = template.Library()
logger = logging.getLogger(__name__)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "abbr": {"title"},
}
# cid: passes the scheme check only to be rewritten (or dropped) by the attribute filter.
URL_SCHEMES = {"http", "https", "mailto", "cid"}

# Attachments are served by one view for the desk and the portal alike (it hides internal
# attachments from end users); a surface with its own download URL would be added here.
ATTACHMENT_URL_NAMES = {
    "desk": "tickets:attachment-download",
    "portal": "tickets:attachment-download",
}

# RFC 3676 section 4.3: the signature separator is the line "-- ".
SIGNATURE_LINE = "-- "
MAX_QUOTE_LINES = 1000


@dataclass(frozen=True, slots=True)
class Part:
    kind: str  # "body", "quote" or "signature"
    html: str  # sanitised


FOLD_LABELS = {"quote": "Show quoted text", "signature": "Show signature"}


def _attribute_filter(images: Mapping[str, str]) -> Callable[[str, str, str], str | None]:
    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        is_cid = value[:4].lower() == "cid:"
        if tag == "img" and attribute == "src":
            if not is_cid:
                return None  # remote images: tracking, and blocked by the CSP anyway
            return images.get(unquote(value[4:]).strip().strip("<>"))
        if is_cid:
            return None  # a cid: link leads nowhere in a browser
        return value

    return rewrite


def sanitise(html: str, *, images: Mapping[str, str]) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        attribute_filter=_attribute_filter(images),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def _split_html_signature(html: str) -> tuple[str, str]:
    """(message, signature) at the first "-- " line of an HTML body, using quotequail's own
    line model of the tree (the same one it finds quotes with); ("html", "") if there is none."""
    # quotequail has no public API for signatures; its line helpers are used as quote_html()
    # uses them (pinned version, see pyproject). Any failure just leaves the body unfolded.
    from quotequail import _html

    tree = _html.get_html_tree(html)
    start_refs, end_refs, lines = _html.get_line_info(tree, MAX_QUOTE_LINES + 1)
    for index, line in enumerate(lines):
        if line.rstrip() == SIGNATURE_LINE.rstrip() and index > 0:
            head = _html.slice_tree(tree, start_refs, end_refs, (0, index), html_copy=html)
            tail = _html.slice_tree(tree, start_refs, end_refs, (index, None))
            return _html.render_html_tree(head), _html.render_html_tree(tail)
    return html, ""


def _html_parts(html: str, images: Mapping[str, str]) -> list[Part]:
    try:
        pieces = quotequail.quote_html(html, limit=MAX_QUOTE_LINES, quote_intro_line=True)
    except Exception:  # lxml on hostile markup: show it whole rather than fail the page
        logger.warning("quote folding failed", exc_info=True)
        pieces = [(True, html)]
    parts: list[Part] = []
    for expanded, piece in pieces:
        if not expanded:
            parts.append(Part("quote", sanitise(piece, images=images)))
            continue
        try:
            body, signature = _split_html_signature(piece)
        except Exception:
            logger.warning("signature folding failed", exc_info=True)
            body, signature = piece, ""
        parts.append(Part("body", sanitise(body, images=images)))
        if signature:
            parts.append(Part("signature", sanitise(signature, images=images)))
    return parts


_TRAILING_QUOTE = re.compile(r"(?:\n>[^\n]*)+\n*\Z")


def _text_html(text: str) -> str:
    return str(escape(text.strip("\n"))).replace("\n", "<br>\n")


def _text_parts(text: str) -> list[Part]:
    text = text.replace("\r\n", "\n")
    pieces = quotequail.quote(text, limit=MAX_QUOTE_LINES, quote_intro_line=True)
    body = pieces[0][1]
    quoted = "\n".join(piece for _, piece in pieces[1:])
    if not quoted:
        # No "On ... wrote:" line: a trailing block of "> " lines is still quoted history.
        match = _TRAILING_QUOTE.search(body)
        if match and match.start() > 0:
            body, quoted = body[: match.start()], body[match.start() :]
    signature = ""
    lines = body.split("\n")
    if SIGNATURE_LINE in lines[1:]:
        at = lines.index(SIGNATURE_LINE, 1)
        body, signature = "\n".join(lines[:at]), "\n".join(lines[at:])
    parts = [Part("body", _text_html(body))]
    if signature.strip():
        parts.append(Part("signature", _text_html(signature)))
    if quoted.strip():
        parts.append(Part("quote", _text_html(quoted)))
    return parts


def image_urls(ticket: Ticket, images: Mapping[str, Attachment], surface: str) -> dict[str, str]:
    url_name = ATTACHMENT_URL_NAMES[surface]
    return {cid: reverse(url_name, args=[ticket.number, att.uid]) for cid, att in images.items()}


def mail_parts(
    mail: InboundMail, *, ticket: Ticket, images: Mapping[str, Attachment], surface: str
) -> list[Part]:
    """The message as shown: its HTML if it has any, else its text, split into parts."""
    if mail.body_html.strip():
        return _html_parts(mail.body_html, image_urls(ticket, images, surface))
    return _text_parts(mail.body_text)


@register.simple_tag
def mail_body(entry: object, ticket: Ticket, surface: str = "desk") -> SafeString:
    """`{% mail_body entry ticket "portal" %}`: the received message of a timeline entry."""
    mail = getattr(entry, "mail", None)
    if not isinstance(mail, InboundMail):
        return mark_safe("")
    if surface not in ATTACHMENT_URL_NAMES:
        raise template.TemplateSyntaxError(f"mail_body: unknown surface {surface!r}")
    images = getattr(entry, "inline_images", None) or {}
    rendered = []
    for part in mail_parts(mail, ticket=ticket, images=images, surface=surface):
        # part.html is nh3's output (or escaped text): safe to mark as such.
        content = mark_safe(part.html)  # noqa: S308
        if part.kind == "body":
            rendered.append(format_html('<div class="mail-part">{}</div>', content))
        else:
            rendered.append(
                format_html(
                    '<details class="mail-{}"><summary>{}</summary><div class="mail-part">{}'
                    "</div></details>",
                    part.kind,
                    FOLD_LABELS[part.kind],
                    content,
                )
            )
    return format_html(
        '<div class="mail-body">{}</div>', format_html_join("", "{}", ((r,) for r in rendered))
    )


@register.simple_tag
def opening_mail(timeline: Iterable[object]) -> object | None:
    """`{% opening_mail timeline as opening %}`: the timeline entry of the message that opened
    the ticket, if it came by mail. Pages show that message as the description (HTML, inline
    images, folded quotes) instead of repeating its text in the timeline."""
    for entry in timeline:
        event = getattr(entry, "event", None)
        if getattr(event, "kind", "") == "created":
            return entry if isinstance(getattr(entry, "mail", None), InboundMail) else None
    return None

"""Turning raw RFC 822 bytes into a ParsedMail: headers, text, sanitised HTML, attachments.

Pure functions, no database. Built on the standard library's modern email API
(`policy.default`), with a per-header fallback to the legacy (compat32) decoder because
policy.default raises on some malformed headers. Work is bounded (SECURITY 29): the size of the
message, of its header block and the number and depth of MIME parts are capped before and while
walking; exceeding a cap raises MailTooComplex, which ingest turns into a failed-mail record.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import hashlib
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from functools import lru_cache
from typing import Any

import charset_normalizer
import nh3
from inscriptis import get_text  # type: ignore[import-untyped]

MAX_MESSAGE_BYTES = 40 * 1024 * 1024
MAX_HEADER_BYTES = 100 * 1024  # the whole top-level header block
MAX_PARTS = 500
MAX_DEPTH = 30
MAX_MULTIPARTS = 100  # multipart containers (boundary declarations) in the whole message
MAX_NESTED_MESSAGES = 20

# Our own control headers. Mail from outside must never steer us with them (SECURITY 10).
CONTROL_HEADER_PREFIX = "x-frontline-"

_SINGLE_BYTE_CHARSETS = frozenset(
    {
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "latin-1",
        "latin1",
        "iso-8859-15",
        "windows-1252",
        "cp1252",
        "iso-8859-2",
    }
)
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
}

# nh3 (ammonia) allowlist: formatting only. No script/style/iframe/form/svg/base/meta/object,
# no event handlers or style attributes, and only these URL schemes (no javascript:, data:).
_HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span",
    "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul",
}  # fmt: skip
_HTML_ATTRIBUTES = {
    "*": {"title", "dir", "lang"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
    "table": {"summary"},
    "ol": {"start"},
    "font": {"color"},
}
_URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}

_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status|fail|notification|report)|returned mail|failure notice|"
    r"mail delivery|non-?delivery|delivery has failed|could not be delivered",
    re.IGNORECASE,
)
_STRUCTURED_HEADERS = frozenset(
    {"from", "sender", "reply-to", "to", "cc", "delivered-to", "x-original-to", "envelope-to",
     "return-path", "subject", "message-id", "in-reply-to", "references", "date"}
)  # fmt: skip
_SURROGATES = re.compile("[\udc80-\udcff]")
_REPORT_PARTS = {
    "message/delivery-status": "delivery-status",
    "message/disposition-notification": "disposition-notification",
    "message/feedback-report": "feedback-report",
}
_MSGID = re.compile(r"<([^<>\s]{1,900})>")


_MIME_HEADERS = frozenset({"content-type", "content-disposition", "content-transfer-encoding"})


class _MailPolicy(email.policy.EmailPolicy):
    """policy.default, except that a MIME structure header (Content-Type and friends) is parsed
    once per distinct text: the parser and the walk read each part's Content-Type several times
    and policy.default builds a new header object from the text on every read. The header
    objects are immutable (a str with read-only params), so sharing them is safe; the cache is
    bounded and keyed by the exact name and text."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or name.lower() not in _MIME_HEADERS:
            return super().header_fetch_parse(name, value)
        return _mime_header(name, value)


POLICY = _MailPolicy()


@lru_cache(maxsize=2048)
def _mime_header(name: str, value: str) -> Any:
    return super(_MailPolicy, POLICY).header_fetch_parse(name, value)


class MailTooComplex(Exception):
    """The message is over one of the parsing limits; it goes to the failed-mail list."""


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""  # without the angle brackets
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str  # with angle brackets; synthetic when the message has none
    has_message_id: bool
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str
    sender_name: str
    reply_to: str
    date: datetime | None
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To, Envelope-To
    headers: dict[str, list[str]]  # lower-case name -> values; X-Frontline-* removed
    body_text: str
    body_html: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    report_type: str = ""  # "delivery-status", "disposition-notification", "feedback-report"
    report_headers: dict[str, list[str]] = field(default_factory=dict)  # of the returned message
    report_text: str = ""  # the machine-readable status part(s)
    stripped_control_headers: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def looks_like_bounce(self) -> bool:
        if self.report_type == "delivery-status":
            return True
        local = self.sender.split("@", 1)[0].lower()
        return local in {"mailer-daemon", "postmaster"} and bool(
            _BOUNCE_SUBJECT.search(self.subject)
        )


# --- headers ---------------------------------------------------------------------------------


def _decode_legacy(value: str) -> str:
    """compat32-style decoding of an encoded-word header that policy.default refused."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _clean_header(value: str) -> str:
    # Unfold and drop control characters (CR/LF/NUL never survive into a stored header value).
    if _SURROGATES.search(value):
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    value = re.sub(r"\r?\n[ \t]*", " ", value)
    return "".join(ch if ch.isprintable() or ch == "\t" else " " for ch in value).strip()


def _headers_of(msg: Message) -> dict[str, list[str]]:
    """Every header, decoded, by lower-case name. A header policy.default cannot parse is
    decoded the legacy way rather than failing the message."""
    out: dict[str, list[str]] = {}
    raw_items: list[tuple[str, Any]] = list(msg.raw_items())
    for name, raw_value in raw_items:
        text = str(raw_value)
        if _SURROGATES.search(text):
            # Raw 8-bit bytes in a header (no RFC 2047): read them like a body of unknown charset
            # instead of letting the parser turn them into U+FFFD.
            text = decode_bytes(text.encode("utf-8", "surrogateescape"), None)
        if name.lower() not in _STRUCTURED_HEADERS and "=?" not in text:
            # Received, DKIM-Signature and friends: plain text, no need for the (slow) parser.
            value = text
        else:
            try:
                value = str(msg.policy.header_fetch_parse(name, text))
            except Exception:
                value = _decode_legacy(text)
        out.setdefault(name.lower().strip(), []).append(_clean_header(value))
    return out


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    pairs = email.utils.getaddresses(values)
    return [(name.strip(), addr.strip()) for name, addr in pairs if addr and "@" in addr]


def _msgids(value: str) -> list[str]:
    found = _MSGID.findall(value or "")
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return [f"<{m}>" for m in found if m]


# --- charsets --------------------------------------------------------------------------------


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Bytes to text: the declared charset when it fits, else charset-normalizer's best guess.

    A declared single-byte charset never fails to decode, so text that is valid UTF-8 with
    non-ASCII bytes is taken as UTF-8 (the commonest wrong declaration)."""
    if not data:
        return ""
    charset = (declared or "").strip().strip('"').lower()
    charset = _CHARSET_ALIASES.get(charset, charset)
    if charset in _SINGLE_BYTE_CHARSETS or not charset:
        if data.isascii():
            return data.decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if charset and charset not in {"us-ascii", "ascii"}:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    if sum(1 for byte in data[:4096] if byte > 0x7F) < 8:
        # Too few non-ASCII bytes for any detector to judge ("café", "Jürgen"): assume the
        # commonest 8-bit charset of mail that declares none.
        return data.decode("cp1252", errors="replace")
    has_bom = data[:4].startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"))
    results = [
        m
        for m in charset_normalizer.from_bytes(data[:200_000])
        # Without a byte-order mark, UTF-16/32 "fit" any short even-length text: never right.
        if has_bom or not m.encoding.startswith(("utf_16", "utf_32"))
    ]
    best = results[0] if results else None
    if best is not None:
        # Several single-byte code pages often tie; Western European mail is the commonest.
        tied = [
            m.encoding
            for m in results
            if m.chaos <= best.chaos and m.coherence >= best.coherence - 0.01
        ]
        preferred = [e for e in ("cp1252", "iso8859_15", "latin_1") if e in tied]
        if preferred:
            return data.decode(preferred[0], errors="replace")
        try:
            return data.decode(best.encoding, errors="replace")
        except LookupError:
            pass
    return data.decode("latin-1")


# --- HTML ------------------------------------------------------------------------------------


def sanitize_html(html: str) -> str:
    """nh3 with a formatting-only allowlist; cid: image references are kept."""
    return nh3.clean(
        html,
        tags=_HTML_TAGS,
        attributes=_HTML_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        clean_content_tags={"script", "style", "title", "head", "noscript"},
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(html: str) -> str:
    try:
        return str(get_text(html)).strip()
    except Exception:
        return re.sub(r"<[^>]+>", " ", html).strip()


# --- parts -----------------------------------------------------------------------------------


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
        name = email.utils.collapse_rfc2231_value(raw) if raw else None
    if name:
        name = _decode_legacy(name) if "=?" in name else name
    return _clean_header(name or "")


def _default_name(content_type: str, index: int) -> str:
    ext = {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html"}.get(
        content_type
    ) or (mimetypes.guess_extension(content_type) or ".bin")
    stem = "image" if content_type.startswith("image/") else "attachment"
    return f"{stem}-{index}{ext}"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email.policy.compat32)
    except Exception:
        try:
            return msg.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def _content_type(part: Message) -> str:
    # (Content-Type is parsed once per distinct text by POLICY: reading it again is cheap.)
    return part.get_content_type()


class _Walker:
    def __init__(self) -> None:
        self.parts = 0
        self.nested = 0
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.report_type = ""
        self.report_headers: dict[str, list[str]] = {}
        self.report_texts: list[str] = []

    def _count(self, depth: int) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MailTooComplex(f"more than {MAX_PARTS} MIME parts")
        if depth > MAX_DEPTH:
            raise MailTooComplex(f"MIME parts nested more than {MAX_DEPTH} deep")

    def _attach(
        self, part: Message, data: bytes | None = None, name: str = "", ctype: str = ""
    ) -> ParsedAttachment:
        ctype = ctype or _content_type(part)
        name = name or _filename(part) or _default_name(ctype, len(self.attachments) + 1)
        cid = _clean_header(str(part.get("Content-ID", "") or "")).strip().strip("<>")
        disposition = (part.get_content_disposition() or "").lower()
        att = ParsedAttachment(
            filename=name,
            content_type=ctype,
            data=_payload(part) if data is None else data,
            content_id=cid,
            inline=bool(cid) and disposition != "attachment",
        )
        self.attachments.append(att)
        return att

    def walk(self, part: Message, depth: int = 0, *, body: bool = True) -> None:
        self._count(depth)
        ctype = _content_type(part)
        if ctype in _REPORT_PARTS:
            self._report_part(part, ctype)
            return
        if ctype == "message/rfc822" or (ctype.startswith("message/") and part.is_multipart()):
            self._nested_message(part, depth)
            return
        if part.is_multipart():
            self._multipart(part, ctype, depth, body=body)
            return
        self._leaf(part, ctype, body=body)

    def _nested_message(self, part: Message, depth: int) -> None:
        self.nested += 1
        if self.nested > MAX_NESTED_MESSAGES:
            raise MailTooComplex(f"more than {MAX_NESTED_MESSAGES} attached messages")
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            self._attach(part, ctype="message/rfc822")
            return
        # Count the inner parts against the limits without keeping their content separately.
        for sub in _iter_parts(inner, depth + 1):
            del sub
            self._count(depth + 1)
        subject = _clean_header(_decode_legacy(str(inner.get("Subject", "") or "")))
        name = _filename(part) or (_safe_stem(subject) or "message") + ".eml"
        if not name.lower().endswith(".eml"):
            name += ".eml"
        if self.report_type and not self.report_headers:
            self.report_headers = _headers_of(inner)
        self._attach(part, data=_message_bytes(inner), name=name, ctype="message/rfc822")

    def _multipart(self, part: Message, ctype: str, depth: int, *, body: bool) -> None:
        payload = part.get_payload()
        if not isinstance(payload, list):
            return
        children: list[Message] = [c for c in payload if isinstance(c, Message)]
        if ctype == "multipart/alternative" and body:
            # One body: prefer what each representation is best at (text and html both kept).
            plain = [c for c in children if _content_type(c) == "text/plain"]
            html = [c for c in children if _content_type(c) == "text/html"]
            for child in children:
                is_body = (plain and child is plain[0]) or (html and child is html[0])
                other_body = _content_type(child) in {"text/plain", "text/html"}
                self.walk(child, depth + 1, body=bool(is_body) or not other_body)
            return
        if ctype == "multipart/report":
            self.report_type = (part.get_param("report-type") or "").lower()  # type: ignore[union-attr]
            for index, child in enumerate(children):
                self.walk(child, depth + 1, body=body and index == 0)
            return
        if ctype == "multipart/signed":
            for index, child in enumerate(children):
                self.walk(child, depth + 1, body=body and index == 0)
            return
        if ctype == "multipart/encrypted":
            # Unreadable without the key: every part is kept as an attachment.
            for child in children:
                self._count(depth + 1)
                self._attach(child)
            return
        for child in children:
            self.walk(child, depth + 1, body=body)

    def _leaf(self, part: Message, ctype: str, *, body: bool) -> None:
        disposition = (part.get_content_disposition() or "").lower()
        name = _filename(part)
        if ctype == "text/rfc822-headers":
            data = _payload(part)
            self.report_headers = _headers_of(email.message_from_bytes(data))
            self._attach(part, data=data, ctype="text/plain", name=name or "headers.txt")
            return
        if ctype == "application/ms-tnef" or name.lower() == "winmail.dat":
            self._tnef(part)
            return
        # Other text types (calendar invitations, vCards) are files, not the message body.
        is_text = ctype in {"text/plain", "text/html"}
        if body and is_text and disposition != "attachment" and not name:
            text = decode_bytes(_payload(part), part.get_content_charset())
            if ctype == "text/html":
                self.htmls.append(text)
            else:
                self.texts.append(text)
            return
        self._attach(part)

    def _report_part(self, part: Message, ctype: str) -> None:
        """The machine-readable part of a DSN, read receipt or abuse report."""
        payload = part.get_payload()
        if isinstance(payload, list):
            # The email package parses these as a series of header blocks.
            text = "\n".join(
                "".join(f"{k}: {v}\n" for k, v in block.raw_items())
                for block in payload
                if isinstance(block, Message)
            )
        else:
            text = decode_bytes(_payload(part), "utf-8")
        if not self.report_type:
            self.report_type = _REPORT_PARTS[ctype]
        self.report_texts.append(text)
        self._attach(
            part, data=text.encode(), ctype="text/plain", name=_filename(part) or "status.txt"
        )

    def _tnef(self, part: Message) -> None:
        data = _payload(part)
        try:
            from tnefparse import TNEF  # type: ignore[import-untyped]

            tnef = TNEF(data)
            found = []
            for att in tnef.attachments:
                att_name = att.long_filename() or getattr(att, "name", "") or ""
                if isinstance(att_name, bytes):
                    att_name = att_name.decode("utf-8", "replace")
                att_name = att_name.strip("\x00 ") or _default_name(
                    "application/octet-stream", len(self.attachments) + 1
                )
                found.append(
                    ParsedAttachment(
                        filename=att_name,
                        content_type=mimetypes.guess_type(att_name)[0]
                        or "application/octet-stream",
                        data=bytes(att.data or b""),
                    )
                )
            body = getattr(tnef, "body", None)
            if isinstance(body, bytes):
                body = decode_bytes(body, None)
            html = getattr(tnef, "htmlbody", None)
            if isinstance(html, bytes):
                html = decode_bytes(html, None)
        except Exception:
            # Keep the original winmail.dat rather than lose its content.
            self._attach(part, data=data, name=_filename(part) or "winmail.dat")
            return
        if not found and not body and not html:
            self._attach(part, data=data, name=_filename(part) or "winmail.dat")
            return
        self.attachments.extend(found)
        if body and isinstance(body, str):
            self.texts.append(body)
        if html and isinstance(html, str):
            self.htmls.append(html)


def _iter_parts(msg: Message, depth: int) -> Iterator[Message]:
    if depth > MAX_DEPTH:
        raise MailTooComplex(f"MIME parts nested more than {MAX_DEPTH} deep")
    payload = msg.get_payload()
    if isinstance(payload, list):
        for child in payload:
            if isinstance(child, Message):
                yield child
                yield from _iter_parts(child, depth + 1)


def _safe_stem(text: str) -> str:
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f\s]+', " ", text).strip(" .")
    return stem[:80]


# --- entry point -----------------------------------------------------------------------------


def _precheck(raw: bytes) -> None:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MailTooComplex(f"message is {len(raw):,} bytes; the limit is {MAX_MESSAGE_BYTES:,}")
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    if end > MAX_HEADER_BYTES:
        raise MailTooComplex(f"header block is {end:,} bytes; the limit is {MAX_HEADER_BYTES:,}")
    # Cheap upper bounds before the parser builds the tree: the standard parser's time grows
    # with the square of the nesting, so deeply nested containers are refused up front.
    declared = len(re.findall(rb"(?im)^content-type:", raw))
    if declared > MAX_PARTS * 2:
        raise MailTooComplex(f"{declared:,} Content-Type headers; more than {MAX_PARTS} parts")
    containers = len(re.findall(rb"(?i)boundary\s*=", raw))
    if containers > MAX_MULTIPARTS:
        raise MailTooComplex(
            f"{containers:,} multipart boundaries; more than {MAX_MULTIPARTS} nested parts"
        )


def synthetic_message_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()}@frontline.invalid>"


def parse_message(raw: bytes) -> ParsedMail:
    """Parse one message. Raises MailTooComplex over the limits; anything else that goes wrong
    inside a part degrades to keeping that part as an attachment."""
    _precheck(raw)
    msg: EmailMessage | Message = email.message_from_bytes(raw, policy=POLICY)
    headers = _headers_of(msg)
    stripped = sorted({k for k in headers if k.startswith(CONTROL_HEADER_PREFIX)})
    for name in stripped:
        del headers[name]

    def first(name: str) -> str:
        values = headers.get(name)
        return values[0] if values else ""

    from_pairs = _addresses(headers.get("from", [])) or _addresses(headers.get("sender", []))
    sender_name, sender = from_pairs[0] if from_pairs else ("", "")
    if not sender:
        rp = _addresses(headers.get("return-path", []))
        sender = rp[0][1] if rp else ""
    reply_to_pairs = _addresses(headers.get("reply-to", []))
    recipients = [
        addr.lower()
        for _, addr in _addresses(
            headers.get("to", [])
            + headers.get("cc", [])
            + headers.get("delivered-to", [])
            + headers.get("x-original-to", [])
            + headers.get("envelope-to", [])
        )
    ]
    date = None
    if first("date"):
        try:
            date = email.utils.parsedate_to_datetime(first("date"))
            if date.tzinfo is None:
                date = None
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
    message_ids = _msgids(first("message-id"))
    walker = _Walker()
    walker.walk(msg)
    text = "\n\n".join(t.strip("\n") for t in walker.texts if t.strip())
    html_raw = "\n".join(walker.htmls)
    body_html = sanitize_html(html_raw) if html_raw.strip() else ""
    if not text and html_raw:
        text = html_to_text(html_raw)
    defects = [type(d).__name__ for d in getattr(msg, "defects", [])][:20]
    return ParsedMail(
        message_id=message_ids[0] if message_ids else synthetic_message_id(raw),
        has_message_id=bool(message_ids),
        in_reply_to=_msgids(first("in-reply-to")),
        references=_msgids(" ".join(headers.get("references", []))),
        subject=first("subject"),
        sender=sender.lower()[:320],
        sender_name=sender_name[:255],
        reply_to=reply_to_pairs[0][1].lower() if reply_to_pairs else "",
        date=date,
        recipients=recipients,
        headers=headers,
        body_text=text.replace("\x00", ""),
        body_html=body_html.replace("\x00", ""),
        attachments=walker.attachments,
        report_type=walker.report_type,
        report_headers=walker.report_headers,
        report_text="\n".join(walker.report_texts),
        stripped_control_headers=stripped,
        defects=defects,
    )

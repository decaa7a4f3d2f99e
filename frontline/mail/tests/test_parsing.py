"""parse_message: charsets, names, inline images, nested messages, HTML, TNEF, limits."""

from __future__ import annotations

import email
import email.policy
import struct
from email.message import EmailMessage

import pytest

from frontline.mail.parsing import MailTooComplex, parse_message, sanitize_html
from frontline.mail.tests.conftest import part


def _raw(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def test_declared_latin1_that_is_really_utf8_is_read_as_utf8():
    raw = _raw(
        "From: a@acme.example\nSubject: x\nContent-Type: text/plain; charset=iso-8859-1",
        "Die Größe der Datei ist zu groß".encode(),
    )
    assert parse_message(raw).body_text == "Die Größe der Datei ist zu groß"


def test_declared_utf8_that_is_really_latin1_falls_back_to_detection():
    text = "Le problème de réseau persiste après le redémarrage du routeur principal."
    raw = _raw(
        "From: a@acme.example\nSubject: x\nContent-Type: text/plain; charset=utf-8",
        text.encode("latin-1"),
    )
    assert parse_message(raw).body_text == text


def test_an_unknown_charset_name_does_not_lose_the_text():
    raw = _raw(
        "From: a@acme.example\nSubject: x\nContent-Type: text/plain; charset=x-no-such-charset",
        "Ошибка при входе в систему".encode(),
    )
    assert parse_message(raw).body_text == "Ошибка при входе в систему"


def test_iso_2022_jp_and_encoded_subject_are_decoded():
    raw = _raw(
        "From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@acme.example>\n"
        "Subject: =?iso-2022-jp?b?GyRCJUYlOSVIGyhC?=\n"
        "Content-Type: text/plain; charset=iso-2022-jp",
        "テストです".encode("iso-2022-jp"),
    )
    parsed = parse_message(raw)
    assert parsed.subject == "テスト"
    assert parsed.sender_name == "Jürgen Müller"
    assert parsed.sender == "jm@acme.example"
    assert parsed.body_text == "テストです"


def test_rfc2231_and_rfc2047_file_names_are_decoded():
    raw = _raw(
        'From: a@acme.example\nSubject: x\nContent-Type: multipart/mixed; boundary="b"',
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%20final.pdf\r\n"
        b"\r\n%PDF-1.4\r\n"
        b'--b\r\nContent-Type: text/plain; name="=?UTF-8?B?w5xiZXJzaWNodC50eHQ=?="\r\n'
        b'Content-Disposition: attachment; filename="=?UTF-8?B?w5xiZXJzaWNodC50eHQ=?="\r\n'
        b"\r\nlist\r\n--b--\r\n",
    )
    parsed = parse_message(raw)
    assert [a.filename for a in parsed.attachments] == ["Résumé final.pdf", "Übersicht.txt"]
    assert parsed.body_text == "see attached"


def test_a_part_without_a_name_gets_one_from_its_content_type():
    msg = EmailMessage()
    msg["From"] = "a@acme.example"
    msg.set_content("screenshot below")
    msg.add_attachment(b"\x89PNG\r\n\x1a\nxx", maintype="image", subtype="png")
    del part(msg, 1)["Content-Disposition"]
    parsed = parse_message(msg.as_bytes())
    assert [a.filename for a in parsed.attachments] == ["image-1.png"]
    assert parsed.attachments[0].data.startswith(b"\x89PNG")


def test_inline_images_keep_their_content_id_and_the_html_keeps_cid():
    msg = EmailMessage()
    msg["From"] = "a@acme.example"
    msg.set_content("plain version")
    msg.add_alternative('<p>Look: <img src="cid:logo123@acme" alt="logo"></p>', subtype="html")
    part(msg, 1).add_related(b"GIF89a...", maintype="image", subtype="gif", cid="<logo123@acme>")
    parsed = parse_message(msg.as_bytes())
    assert parsed.body_text == "plain version"
    assert 'src="cid:logo123@acme"' in parsed.body_html
    (image,) = parsed.attachments
    assert image.content_id == "logo123@acme"
    assert image.inline
    assert image.data == b"GIF89a..."


def test_a_nested_message_is_kept_as_an_eml_attachment():
    inner = EmailMessage()
    inner["From"] = "boss@acme.example"
    inner["Subject"] = "Budget: Q3/Q4"
    inner.set_content("numbers are final")
    outer = EmailMessage()
    outer["From"] = "a@acme.example"
    outer.set_content("forwarding this")
    outer.add_attachment(inner)
    parsed = parse_message(outer.as_bytes())
    (att,) = parsed.attachments
    assert att.filename == "Budget Q3 Q4.eml"
    assert att.content_type == "message/rfc822"
    again = email.message_from_bytes(att.data, policy=email.policy.default)
    assert again["Subject"] == "Budget: Q3/Q4"
    assert "numbers are final" in again.get_content()
    assert "numbers are final" not in parsed.body_text


def test_html_only_mail_gets_text_from_the_html():
    raw = _raw(
        "From: a@acme.example\nSubject: x\nContent-Type: text/html; charset=utf-8",
        b"<html><body><h1>Outage</h1><p>The <b>VPN</b> is down since 9:00.</p></body></html>",
    )
    parsed = parse_message(raw)
    assert "Outage" in parsed.body_text
    assert "The VPN is down since 9:00." in parsed.body_text
    assert "<b>VPN</b>" in parsed.body_html


@pytest.mark.parametrize(
    ("dirty", "gone"),
    [
        ("<script>alert(1)</script>", "alert"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<img src="data:image/png;base64,AAAA">', "data:"),
        ("<style>body{background:url(x)}</style>", "background"),
        ('<p style="width:expression(alert(1))">x</p>', "expression"),
        ('<base href="https://evil.example/">', "base"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "refresh"),
        ('<form action="https://evil.example"><input name="pw"></form>', "form"),
        ('<iframe src="https://evil.example"></iframe>', "iframe"),
        ('<svg onload="alert(1)"><circle/></svg>', "svg"),
    ],
)
def test_html_is_sanitised(dirty, gone):
    clean = sanitize_html(f"<p>hello</p>{dirty}")
    assert gone not in clean
    assert "<p>hello</p>" in clean


def _tnef(filename: bytes, data: bytes) -> bytes:
    def attr(level: int, attr_id: int, payload: bytes) -> bytes:
        head = struct.pack("<BII", level, attr_id, len(payload))
        return head + payload + struct.pack("<H", sum(payload) & 0xFFFF)

    return (
        struct.pack("<IH", 0x223E9F78, 1)
        + attr(1, 0x00089006, struct.pack("<I", 0x00010000))
        + attr(2, 0x00069002, b"\x01\x00" + b"\x00" * 12)
        + attr(2, 0x00018010, filename + b"\x00")
        + attr(2, 0x0006800F, data)
    )


def _with_winmail(data: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "outlook@acme.example"
    msg.set_content("see the attachment")
    msg.add_attachment(data, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return msg.as_bytes()


def test_tnef_winmail_dat_is_unpacked():
    parsed = parse_message(_with_winmail(_tnef(b"report.txt", b"quarterly numbers")))
    assert [(a.filename, a.data) for a in parsed.attachments] == [
        ("report.txt", b"quarterly numbers")
    ]


def test_a_broken_winmail_dat_is_kept_as_it_came():
    parsed = parse_message(_with_winmail(b"not tnef at all"))
    assert [(a.filename, a.data) for a in parsed.attachments] == [
        ("winmail.dat", b"not tnef at all")
    ]


def test_signed_and_encrypted_parts_are_kept_as_attachments():
    raw = _raw(
        "From: a@acme.example\nSubject: x\n"
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"',
        b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
        b"--e\r\nContent-Type: application/octet-stream; name=encrypted.asc\r\n\r\n"
        b"-----BEGIN PGP MESSAGE-----\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n--e--\r\n",
    )
    parsed = parse_message(raw)
    assert len(parsed.attachments) == 2
    assert parsed.attachments[1].filename == "encrypted.asc"
    assert b"BEGIN PGP MESSAGE" in parsed.attachments[1].data


def test_a_header_the_modern_parser_refuses_falls_back_and_gets_a_synthetic_id():
    raw = _raw("From: a@acme.example\nMessage-ID: <<<>>>\nSubject: still fine", b"body text")
    parsed = parse_message(raw)
    assert parsed.subject == "still fine"
    assert parsed.message_id.endswith("@frontline.invalid>")
    assert not parsed.has_message_id


def test_missing_message_id_gets_the_sha256_of_the_bytes():
    import hashlib

    raw = _raw("From: a@acme.example\nSubject: x", b"body")
    assert parse_message(raw).message_id == f"<{hashlib.sha256(raw).hexdigest()}@frontline.invalid>"


def test_our_control_headers_are_dropped():
    raw = _raw(
        "From: a@acme.example\nSubject: x\nX-Frontline-Ticket: INC-000001\nX-FRONTLINE-Actor: 1",
        b"body",
    )
    parsed = parse_message(raw)
    assert not [h for h in parsed.headers if h.startswith("x-frontline")]
    assert parsed.stripped_control_headers == ["x-frontline-actor", "x-frontline-ticket"]


def test_too_many_parts_is_refused_quickly():
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(600))
    raw = _raw('From: a@acme.example\nContent-Type: multipart/mixed; boundary="b"', parts)
    with pytest.raises(MailTooComplex, match="parts"):
        parse_message(raw + b"--b--\r\n")


def test_deep_nesting_is_refused():
    body = b"x"
    for level in range(40):
        body = (
            f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
            + body
            + f"\r\n--b{level}--\r\n".encode()
        )
    with pytest.raises(MailTooComplex, match="nested"):
        parse_message(b"From: a@acme.example\r\n" + body)


def test_a_huge_header_is_refused():
    raw = _raw("From: a@acme.example\nX-Junk: " + "a" * 200_000, b"body")
    with pytest.raises(MailTooComplex, match="header"):
        parse_message(raw)


def test_raw_8bit_headers_are_decoded_not_replaced():
    raw = (
        b"From: J\xfcrgen M\xfcller <jm@acme.example>\r\n"
        b"Subject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\r\n"
        b"X-Note: caf\xe9\r\n\r\nhi"
    )
    parsed = parse_message(raw)
    assert parsed.sender_name == "Jürgen Müller"
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.header("x-note") == "café"


def test_a_calendar_invitation_is_a_file_not_part_of_the_text():
    msg = EmailMessage()
    msg["From"] = "a@acme.example"
    msg.set_content("Meeting about the outage")
    msg.add_attachment("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", subtype="calendar")
    del part(msg, 1)["Content-Disposition"]
    parsed = parse_message(msg.as_bytes())
    assert parsed.body_text == "Meeting about the outage"
    assert [a.content_type for a in parsed.attachments] == ["text/calendar"]
    assert parsed.attachments[0].filename.endswith(".ics")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Content-Type", 'text/plain; charset="iso-8859-1"; format=flowed'),
        ("Content-Type", 'multipart/mixed;\r\n boundary="==b1=="'),
        ("Content-Type", "application/pdf; name*=utf-8''Pr%C3%BCfbericht%202026.pdf"),
        ("Content-Type", "text/html; charset=unknown-8bit"),
        ("Content-Type", "garbage without a slash"),
        ("Content-Disposition", 'attachment; filename="=?utf-8?b?w6Rww7ZsLnR4dA==?="'),
        ("Content-Disposition", "inline; filename*0*=utf-8''long%20na; filename*1=me.txt"),
        ("Content-Transfer-Encoding", " Quoted-Printable "),
    ],
)
def test_parsed_mime_headers_are_shared_but_read_as_policy_default_reads_them(name, value):
    # The ingest policy parses each distinct Content-Type text once and shares the header object;
    # what a reader sees must be exactly what policy.default gives, and stay so on a second read.
    from frontline.mail.parsing import POLICY

    expected = email.policy.default.header_fetch_parse(name, value)
    for _ in range(2):
        got = POLICY.header_fetch_parse(name, value)
        assert str(got) == str(expected)
        # (The registry makes a new class per parse: compare what it is made of.)
        assert type(got).__bases__ == type(expected).__bases__
        assert [type(d) for d in got.defects] == [type(d) for d in expected.defects]
        for attribute in ("content_type", "params", "content_disposition", "cte"):
            if hasattr(expected, attribute):
                assert getattr(got, attribute) == getattr(expected, attribute)
    assert POLICY.header_fetch_parse(name, value) is POLICY.header_fetch_parse(name, value)


def test_a_part_reads_the_same_through_the_shared_headers_in_two_messages():
    def message(body: str) -> bytes:
        return (
            "From: a@example.org\r\nTo: help@acme.example\r\nSubject: x\r\n"
            f"Message-ID: <shared-{abs(hash(body))}@example.org>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            '--b\r\nContent-Type: text/plain; charset="iso-8859-1"\r\n'
            f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{body}\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\n"
        ).encode()

    first = parse_message(message("caf=E9 cr=E8me"))
    second = parse_message(message("na=EFve d=E9j=E0 vu"))
    assert "café crème" in first.body_text
    assert "naïve déjà vu" in second.body_text
    assert [a.filename for a in first.attachments] == ["résumé.txt"]
    assert [a.filename for a in second.attachments] == ["résumé.txt"]
    assert second.attachments[0].data == b"hi"

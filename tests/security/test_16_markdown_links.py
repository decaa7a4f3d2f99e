"""SECURITY.md 16 (and part of 13): Markdown links with javascript: or data: URLs are removed;
raw HTML in Markdown is sanitised."""

from __future__ import annotations

import pytest

from frontline.core.templatetags.frontline import render_markdown


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](javascript&#58;alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        '<a href="javascript:alert(1)">click</a>',
    ],
)
def test_dangerous_links_lose_their_href(text):
    html = render_markdown(text).lower()
    assert "javascript:" not in html
    assert "data:text" not in html
    assert "vbscript:" not in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<svg onload="alert(1)"></svg>',
        '<iframe src="https://evil.example"></iframe>',
        '<form action="https://evil.example"><input></form>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<base href="https://evil.example/">',
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<div style="width: expression(alert(1))">x</div>',
    ],
)
def test_raw_html_is_sanitised(text):
    html = render_markdown(text).lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "<iframe",
        "<form",
        "<meta",
        "<base",
        "style=",
        "expression(",
    ):
        assert bad not in html


def test_safe_links_and_formatting_survive():
    html = render_markdown("See [the guide](https://example.com/guide) and **restart**.")
    assert 'href="https://example.com/guide"' in html
    assert "<strong>restart</strong>" in html
    assert "noopener" in html

"""Template filters: safe Markdown rendering of user text."""

from __future__ import annotations

import functools
import threading

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


_local = threading.local()


def _converter() -> md.Markdown:
    """This thread's Markdown converter. Building one (its parsers and ~40 patterns) cost more
    than converting a comment, and a ticket page converts one text per timeline entry
    (benchmark issue #3: ~20 ms of a 75 ms page). Instances are not thread-safe, hence one per
    thread; render_markdown resets it before each text, so nothing carries over."""
    converter: md.Markdown | None = getattr(_local, "converter", None)
    if converter is None:
        converter = md.Markdown(extensions=["fenced_code", "tables", "sane_lists"])
        _local.converter = converter
    return converter


# Texts up to this long are remembered with their HTML (render_markdown's output depends on the
# text alone): a ticket page converts one text per timeline entry on every view, the same texts
# again and again (benchmark issue #3). Bounded: at most _CACHE_SIZE texts per process.
_CACHE_SIZE = 2048
_CACHE_MAX_CHARS = 16 * 1024


def render_markdown(text: str) -> str:
    """Markdown -> HTML, then sanitised by nh3: no script, no event handlers, and links only
    with http, https or mailto (so `[x](javascript:...)` loses its link)."""
    text = text or ""
    if len(text) <= _CACHE_MAX_CHARS:
        return _render_remembered(text)
    return _render(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _render_remembered(text: str) -> str:
    return _render(text)


def _render(text: str) -> str:
    html = _converter().reset().convert(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 above

"""Rules for text in the trial database: no markup, no control characters, http(s) URLs only.

Text from ``data/`` is escaped wherever it reaches HTML (:mod:`analysis.book.html`); these rules
are the second line of defence and keep the data clean: a data value never needs markup, so
markup-like content is an error, reported with file, row, column, value and rule before any
notebook runs. The rule depends on the kind of column (``Col.text`` in
:mod:`analysis.evidence.schema`):

ids, enums, numbers
    already restricted to a pattern, a list of values or a number; nothing else applies.
``name`` (short labels shown in tables: trial name, country, comparator, comparison, ...)
    the markup rules below, and a single line: no line break, tab or other control character.
``free`` (notes, definitions as printed, reasons, sources, locations, ...)
    the markup rules below; line breaks and tabs are allowed, other control characters not.
``url`` (``source_urls``)
    ``' | '``-separated absolute ``http://`` or ``https://`` URLs without spaces, quotes,
    ``<``, ``>`` or backticks.

Markup rules (checked in this order; the first broken one is reported):

1. **HTML tag**: ``<`` directly followed by a letter, ``/``, ``!`` or ``?`` (a start or end tag,
   comment, doctype or processing instruction). A ``<`` followed by anything else is text:
   ``p<0.05``, ``< 6 sessions``, ``<=``, ``<-`` are allowed.
2. **Script URL**: ``javascript:`` or ``vbscript:`` in any letter case (tabs and line breaks
   inside the word are ignored, as browsers do).
3. **Event-handler attribute**: ``on<event>=`` for a DOM event name (``onerror=``,
   ``onload =``, ``onmouseover=``, ...). Words such as ``onset = week 4`` are not events.
4. **MyST role or directive**: ``{name}`` directly followed by a backtick (``{glue:text}`x```,
   ``{raw}`...```), or a line starting with a code or colon fence followed by ``{``
   (```` ```{raw} html ````, ``:::{note}``).

Control characters: U+0000-U+001F (except tab and line breaks in ``free`` text), U+007F-U+009F,
and the bidirectional embedding, override and isolate controls U+202A-U+202E and U+2066-U+2069
(they can make a value display differently from what it is).
"""

from __future__ import annotations

import re

__all__ = ["TEXT_KINDS", "text_problem", "url_problem"]

TEXT_KINDS = ("name", "free", "url")

_TAG = re.compile(r"<[A-Za-z/!?]")
_SCRIPT_URL = re.compile(r"\b(?:java|vb)script\s*:", re.IGNORECASE)
_EVENTS = (
    "abort|afterprint|animation(?:cancel|end|iteration|start)|auxclick|beforeinput|"
    "beforeprint|beforeunload|beforetoggle|blur|cancel|canplay|canplaythrough|change|click|"
    "close|contextmenu|copy|cuechange|cut|dblclick|drag|dragend|dragenter|dragleave|dragover|"
    "dragstart|drop|durationchange|emptied|ended|error|focus|focusin|focusout|formdata|"
    "fullscreenchange|fullscreenerror|gotpointercapture|hashchange|input|invalid|keydown|"
    "keypress|keyup|languagechange|load|loadeddata|loadedmetadata|loadend|loadstart|"
    "lostpointercapture|message|messageerror|mousedown|mouseenter|mouseleave|mousemove|"
    "mouseout|mouseover|mouseup|mousewheel|offline|online|pagehide|pageshow|paste|pause|play|"
    "playing|pointercancel|pointerdown|pointerenter|pointerleave|pointermove|pointerout|"
    "pointerover|pointerrawupdate|pointerup|popstate|progress|ratechange|rejectionhandled|"
    "reset|resize|scroll|scrollend|search|securitypolicyviolation|seeked|seeking|select|"
    "selectionchange|selectstart|show|slotchange|stalled|storage|submit|suspend|timeupdate|"
    "toggle|touchcancel|touchend|touchmove|touchstart|transition(?:cancel|end|run|start)|"
    "unhandledrejection|unload|volumechange|waiting|webkit\\w+|wheel"
)
_EVENT_ATTR = re.compile(rf"\bon(?:{_EVENTS})\s*=", re.IGNORECASE)
_MYST_ROLE = re.compile(r"\{[A-Za-z][\w.:+-]*\}`")
_MYST_DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|~{3,}|:{3,})[ \t]*\{", re.MULTILINE)
_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL_NAME = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_FREE = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")
_URL = re.compile(r"^https?://[^\s\"'<>`|]+$", re.IGNORECASE)
_INVISIBLE_IN_SCHEME = re.compile(r"[\t\r\n]")


def _markup_problem(value: str) -> str | None:
    if _TAG.search(value):
        return (
            "must not contain HTML markup ('<' followed by a letter, '/', '!' or '?'); "
            "write '< ' or 'less than' for a comparison"
        )
    if _SCRIPT_URL.search(_INVISIBLE_IN_SCHEME.sub("", value)):
        return "must not contain a script URL (javascript: or vbscript:)"
    if _EVENT_ATTR.search(value):
        return "must not contain an HTML event-handler attribute (on<event>=)"
    if _MYST_ROLE.search(value) or _MYST_DIRECTIVE.search(value):
        return "must not contain a MyST role or directive ({name}` or a fence followed by {)"
    return None


def url_problem(value: str) -> str | None:
    """The broken rule for a ``' | '``-separated list of http(s) URLs, or None."""
    for item in value.split(" | "):
        if not _URL.match(item.strip()):
            return (
                "must be ' | '-separated http:// or https:// URLs (no spaces, quotes, "
                "'<', '>' or backticks)"
            )
    return None


def text_problem(value: str, kind: str) -> str | None:
    """The broken rule for a non-empty text ``value`` of column kind ``kind``, or None.

    ``kind`` is ``"name"``, ``"free"`` or ``"url"`` (see the module docstring).
    """
    if kind not in TEXT_KINDS:
        raise ValueError(f"unknown text kind {kind!r}; expected one of {TEXT_KINDS}")
    control = _CONTROL_NAME if kind in ("name", "url") else _CONTROL_FREE
    m = control.search(value)
    if m:
        what = "a line break or tab" if m.group() in "\t\n\r" else f"U+{ord(m.group()):04X}"
        return f"must not contain control characters ({what}; {kind} columns)"
    if kind == "url":
        return url_problem(value)
    return _markup_problem(value)

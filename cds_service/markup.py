"""Record text made inert before it enters a card's markdown.

Card details are GitHub-flavoured markdown that the EHR renders for the clinician. Words taken from
the record (a medication's name, the words a finding was read from) are data, not markup: a link, an
image, an HTML tag or an autolinked URL written into a medication's text must show as the characters
it is, never render. Links in cards come only from ``cards/``.
"""

from __future__ import annotations

import re

#: Characters with a meaning in CommonMark/GFM inline syntax, escaped with a backslash.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~])")
#: GFM autolinks "www." and "scheme://" in plain text, whatever the escaping: a zero-width space
#: after "www" and before "//" keeps the characters and breaks the link.
_AUTOLINK = re.compile(r"(?i)(www)(\.)|(:)(//)")
_ZERO_WIDTH_SPACE = "\u200b"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def inert(text: str, limit: int = 200) -> str:
    """``text`` from the record as literal characters in markdown and HTML, on one line, at most
    ``limit`` characters (longer text ends with "…")."""
    text = _BREAKS.sub(" ", _CONTROL.sub("", text)).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _AUTOLINK.sub(
        lambda m: (
            f"{m[1]}{_ZERO_WIDTH_SPACE}{m[2]}" if m[1] else f"{m[3]}{_ZERO_WIDTH_SPACE}{m[4]}"
        ),
        text,
    )

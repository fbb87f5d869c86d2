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
#: Renderers link "www.", "scheme:", "name@host" and bare domains ("evil.com/x") in plain text,
#: whatever the escaping: a zero-width space after every dot, at-sign and colon (ASCII or
#: full-width) keeps the characters a clinician reads and breaks every such link.
_LINKABLE = re.compile(r"([.@:\uff0e\uff1a\uff20])(?=\S)")
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
    return _LINKABLE.sub(lambda m: m[1] + _ZERO_WIDTH_SPACE, text)

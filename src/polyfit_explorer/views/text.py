"""Text from outside shown as text: the one escape every markup sink goes through.

Panel's Markdown and HTML panes, the material Alert (which renders its
``object`` as Markdown) and any HTML the app writes read their text as
markup.  Text that came from outside (a link's keys and values, a file's
column names, typed text, an error message quoting any of them) must reach
the page only as text: a link that opens the app with
``?penalty=<img src=y onerror=...>`` must show those characters, not run them.
"""

from __future__ import annotations

import re

__all__ = ["as_text"]

#: ASCII punctuation: every character CommonMark lets a backslash escape, so
#: every character that can start Markdown syntax, plus HTML's < > & " '.
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
#: Line breaks and indentation are Markdown syntax too (lists, code blocks).
_SPACE = re.compile(r"\s+")


def as_text(text: object) -> str:
    """Return ``text`` to be shown as itself in Markdown or HTML.

    Every ASCII punctuation character becomes a numeric character reference,
    which HTML shows as that character and CommonMark treats as "literal
    text, not markup"; runs of white space become one space.  So the one
    result is safe in both kinds of sink.

    Examples
    --------
    >>> as_text("<b>3,5</b>")
    '&#60;b&#62;3&#44;5&#60;&#47;b&#62;'
    >>> as_text("Degree 3")
    'Degree 3'
    """
    flat = _SPACE.sub(" ", str(text))
    return _PUNCTUATION.sub(lambda match: f"&#{ord(match[0])};", flat)

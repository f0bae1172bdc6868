"""Text made safe for the XML 1.0 documents fau writes (ELAN files, SVG charts, HTML reports).

XML 1.0 allows only the characters of its ``Char`` production (W3C XML 1.0, section 2.2):
tab, line feed, carriage return, U+0020-U+D7FF, U+E000-U+FFFD and U+10000-U+10FFFF. A
segment label or file name holding anything else (a C0 control character, U+FFFE) would
make the whole file unreadable to ELAN, a browser's SVG parser or ``xml.etree``.
"""

from __future__ import annotations

import re

from .files import text_of

__all__ = ["xml_safe"]

#: One character that XML 1.0 does not allow (the complement of its ``Char`` production).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` as XML 1.0 can hold it.

    The bytes of a file name that is not UTF-8 (lone surrogates in Python, PEP 383) are
    written as ``\\xNN`` (`fau.files.text_of`); every other character that XML 1.0 forbids
    becomes U+FFFD (the replacement character).
    """
    return _NOT_XML.sub("\ufffd", text_of(text))

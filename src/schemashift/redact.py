"""The one redaction every database URL passes before it is shown.

A password may hold ``@ : / ? #`` or ``%``-escapes, or sit in the query string
(``?password=``), and the URL may not even parse; SQLAlchemy's own
``render_as_string(hide_password=True)`` trusts its parser, which takes
``u:pa@SECRET@host`` as password ``pa`` on host ``SECRET@host``.  So we never
parse: everything between the user name and the *last* ``@`` of the URL is
hidden (over-hiding a host is harmless, showing a password is not), and so is
the value of every query key that looks like a secret.

Text that is not a URL (an error message, a log line, a traceback) is
scrubbed twice: every URL-shaped run in it is redacted as above, and every
password seen so far (``remember``) is replaced wherever it appears, in any
spelling (raw, ``%``-decoded or ``%``-encoded), which catches a password a
driver quoted in its own words.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MASK = "***"

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
# a query key whose value is a secret: password, passwd, pwd, sslpassword, secret, token, api_key...
_SECRET_KEY = re.compile(r"(?i)([?&;](?:[\w.\-]*pass[\w.\-]*|pwd|[\w.\-]*secret[\w.\-]*|[\w.\-]*token[\w.\-]*|[\w.\-]*key))=([^&;#\s'\"]*)")
# in free text a URL ends at whitespace or a quote
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")

_remembered: set[str] = set()


def _spellings(secret: str) -> set[str]:
    out = {secret, unquote(secret), quote(secret, safe=""), quote(unquote(secret), safe="")}
    return {s for s in out if len(s) >= 3}  # a 1-2 character "secret" would mask half the text


def password_of(url: str | None) -> str | None:
    """The password part of ``url`` as written (``%``-escapes kept), or None."""
    if not url:
        return None
    found = _SCHEME.match(url)
    if not found:
        return None
    rest = url[found.end():]
    at = rest.rfind("@")
    if at < 0:
        return None
    creds = rest[:at]
    if ":" not in creds:
        return None
    return creds.split(":", 1)[1] or None


def remember(url: str | None) -> None:
    """Note the secrets of a URL this process uses, so ``scrub`` hides them anywhere."""
    if not url:
        return
    secrets = [password_of(url)]
    secrets += [m.group(2) for m in _SECRET_KEY.finditer(url)]
    for secret in secrets:
        if secret:
            _remembered.update(_spellings(secret))


def redact_url(url: object) -> str:
    """``url`` with its password (and secret query values) replaced by ``***``; never parsed."""
    if url is None or url == "":
        return "<no url>"
    text = str(url)
    found = _SCHEME.match(text)
    if found:
        rest = text[found.end():]
        at = rest.rfind("@")
        if at >= 0:
            creds, host = rest[:at], rest[at + 1:]
            if ":" in creds:
                creds = creds.split(":", 1)[0] + ":" + MASK
            text = found.group(0) + creds + "@" + host
    return _SECRET_KEY.sub(lambda m: f"{m.group(1)}={MASK}", text)


def scrub(text: str) -> str:
    """Hide every URL password and every remembered secret in free text."""
    if not text:
        return text
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in sorted(_remembered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text

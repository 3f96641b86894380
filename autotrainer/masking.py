"""Credentials out of every text: a database URL's password in any form an operator writes it.

Lives at the bottom of the package so the log filter, the settings and the database layer share one rule.
Cheap (no SQLAlchemy): `check` and every log line use it.
"""

from __future__ import annotations

import re

# A query parameter whose name says it holds a credential (?password=, &PWD=, ?api_key=, ?token=...).
_SECRET_PARAM_RE = re.compile(r"[?&;][^=&;?#]*(?:pass|pwd|secret|token|key|auth|cred)[^=&;?#]*=([^&;#]*)", re.IGNORECASE)


def _secret_spans(url: str) -> list[tuple[int, int]]:
    """Where the credentials of a database URL are, in every form operators write one: userinfo
    ('scheme://user:pw@host'), no scheme at all ('user:pw@host/db'), a password holding an unencoded '@', '/'
    or '?', and credentials in the query string. Cheap (no SQLAlchemy): `check` and the log filter use it."""
    start = url.find("://") + 3 if "://" in url else 0
    at = url.rfind("@", start)  # the last '@': an unencoded one in the password hides nothing after it
    user, colon, password = url[start:max(at, start)].partition(":")
    spans = []
    if colon and password and "/" not in user and "?" not in user:
        spans.append((start + len(user) + 1, at))
    userinfo_end = spans[0][1] if spans else start
    spans += [match.span(1) for match in _SECRET_PARAM_RE.finditer(url, userinfo_end) if match.group(1)]
    return sorted(spans)


def url_secrets(url: str) -> set[str]:
    """The credentials a database URL holds, raw and percent-decoded, for removing them from any text."""
    from urllib.parse import unquote, unquote_plus

    raw = {url[begin:end] for begin, end in _secret_spans(url)}
    return {text for secret in raw for text in (secret, unquote(secret), unquote_plus(secret)) if text}


def redact(text: str, secrets: set[str]) -> str:
    """`text` with each secret replaced by '***' (longest first, so one that contains another goes whole)."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def mask_password(url: str) -> str:
    """The URL with every credential shown as '***' ('scheme://user:***@host/db?sslmode=require&password=***')."""
    for begin, end in reversed(_secret_spans(url)):
        url = url[:begin] + "***" + url[end:]
    return url


def database_kind(url: str) -> str:
    """What a database URL is, without any address or credential: its dialect ('postgresql', 'sqlite')."""
    if not url:
        return "sqlite"
    scheme = url.partition("://")[0] if "://" in url else ""
    return scheme.split("+")[0].lower() if re.fullmatch(r"[A-Za-z][\w+.-]*", scheme) else "unrecognised"


def notify_url_secrets(url: str) -> set[str]:
    """What to keep out of any text for a notification URL (Apprise's `service://token/...` forms and a Bot
    API address): the whole URL, its credentials, and every part that is not a host name (services carry
    their tokens there: `discord://webhook_id/webhook_token`, `tgram://bot_token/chat_id`)."""
    url = url.strip()
    found = url_secrets(url) | ({url} if "://" in url and not url.startswith(("http://", "https://")) else set())
    rest = url.partition("://")[2] if "://" in url else url
    host, _, path = rest.partition("/")
    host = host.rpartition("@")[2]
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name and "." not in name and name != "localhost" and not name.startswith("["):
        found.add(host)
    found |= {part for part in re.split(r"[/?&#=]", path) if len(part) >= 8}
    return {text for text in found if text}

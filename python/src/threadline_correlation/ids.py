"""The IDs a request carries: what a valid one looks like, how a fresh one is made, and where
the session is read from (the W3C ``baggage`` member ``session.id``, else ``X-Session-ID``)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Callable, Optional
from urllib.parse import quote, unquote

CORRELATION_HEADER = "x-correlation-id"
"""The correlation header, lower case."""
SESSION_HEADER = "x-session-id"
"""The plain session header, for callers that send no ``baggage``."""
SESSION_MEMBER = "session.id"
"""The baggage member that carries the session."""

_VALID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_valid_id(text: object) -> bool:
    """Whether ``text`` is 16 to 64 letters, digits, ``-`` or ``_``."""
    return isinstance(text, str) and _VALID.fullmatch(text) is not None


def new_id() -> str:
    """A fresh ID: 128 bits from the OS's CSPRNG as 32 lowercase hex (a W3C trace-id)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class RequestIds:
    """Both IDs of a request or job."""

    correlation_id: str
    """The request's ID, accepted or minted at the edge."""
    session_id: Optional[str] = None
    """The browser session, ``None`` when the request named none that is valid."""


def _members(baggage: Optional[str]) -> list[str]:
    return [m.strip() for m in (baggage or "").split(",") if m.strip()]


def _key(member: str) -> str:
    return re.split(r"[=;]", member, maxsplit=1)[0].strip()


def baggage_value(baggage: Optional[str], key: str) -> Optional[str]:
    """The percent-decoded value of baggage member ``key``, if present."""
    for member in _members(baggage):
        if _key(member) == key and "=" in member:
            raw = member.split(";", 1)[0].split("=", 1)[1].strip()
            try:
                return unquote(raw, errors="strict")
            except UnicodeDecodeError:
                return None
    return None


def set_baggage(baggage: Optional[str], key: str, value: str) -> str:
    """``baggage`` with member ``key`` set to ``value``; other members stay, in order."""
    kept = [m for m in _members(baggage) if _key(m) != key]
    return ",".join([*kept, f"{key}={quote(value, safe='')}"])


def ids_from_headers(header: Callable[[str], Optional[str]], name: str = CORRELATION_HEADER) -> RequestIds:
    """The edge policy on a request's headers (``header(lower_case_name)`` gives a value or
    ``None``): a valid correlation ID is kept, a missing or invalid one replaced by a fresh one;
    the session is the baggage member ``session.id``, else ``X-Session-ID``, if valid, and
    otherwise ``None`` (never minted)."""
    given = (header(name) or "").strip()
    session = baggage_value(header("baggage"), SESSION_MEMBER)
    if session is None:
        session = (header(SESSION_HEADER) or "").strip()
    return RequestIds(
        correlation_id=given if is_valid_id(given) else new_id(),
        session_id=session if is_valid_id(session) else None,
    )

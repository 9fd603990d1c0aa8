"""sqlcommenter (https://google.github.io/sqlcommenter/spec/): tags appended to a SQL
statement as a comment, so the database's slow-query log and activity views show them."""

from __future__ import annotations

from typing import Mapping
from urllib.parse import quote

from .context import current_ids


def with_comment(sql: str, tags: Mapping[str, str]) -> str:
    """``sql`` with ``tags`` appended as ``/*key='value',…*/``: keys sorted, keys and values
    URL-encoded, ``'`` escaped; before a final ``;``. A statement that already has a comment,
    or no tags, is returned unchanged."""
    if not tags or "/*" in sql or "--" in sql:
        return sql
    pairs = sorted(_pair(k, v) for k, v in tags.items())
    comment = "/*" + ",".join(pairs) + "*/"
    body = sql.rstrip()
    if body.endswith(";"):
        return f"{body[:-1].rstrip()} {comment};"
    return f"{body} {comment}"


def _pair(key: str, value: str) -> str:
    escaped = quote(value, safe="").replace("'", "\\'")
    return f"{quote(key, safe='')}='{escaped}'"


def sql_with_ids(sql: str) -> str:
    """``sql`` tagged with the current ``correlation_id`` and ``session_id``."""
    ids = current_ids()
    if ids is None:
        return sql
    tags = {"correlation_id": ids.correlation_id}
    if ids.session_id:
        tags["session_id"] = ids.session_id
    return with_comment(sql, tags)

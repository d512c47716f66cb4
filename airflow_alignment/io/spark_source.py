"""``SparkSource``: a table or a query behind an Airflow connection to Spark.

Cheap to import (no pyspark): DAG files build sources at parse time, and Airflow renders their
templated fields before the task runs. Everything that talks to Spark lives in
:mod:`airflow_alignment.spark` (its backend, :class:`~airflow_alignment.spark.backend.SparkBackend`,
reads a SparkSource for every check) and imports pyspark inside its functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from airflow_alignment.exceptions import SpecError

# A ``:name`` placeholder of Spark's named parameter markers (not ``::`` casts, not inside a word).
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass
class SparkSource:
    """A Spark table (optionally filtered) or a Spark SQL query, read through an Airflow connection.

    ``SparkSource("lakehouse", table="ml.predictions", where="ds = :ds", parameters={"ds": "{{ ds }}"})``.
    Checks that reduce to counts (expectations, count-based fairness and performance metrics,
    drift bins) run inside Spark; only counts come back to the Airflow worker.

    :param conn_id: an Airflow connection of type ``spark_connect`` (a Spark Connect server,
        ``sc://host:port``, as the apache-spark provider's ``SparkConnectHook`` reads it) or
        ``spark`` whose host is a local master (``local[4]``: an in-process session).
    :param table: a table or view of the session's catalog: ``table``, ``db.table`` or
        ``catalog.db.table`` (templated). Each part is quoted with backticks; a part that holds
        a dot is written in backticks already (```db`.`my.table```).
    :param query: a Spark SQL ``SELECT`` to check instead of a table (templated); it may read
        files directly (``SELECT * FROM parquet.`s3a://bucket/predictions/```) and its
        ``:name`` placeholders take ``parameters``.
    :param where: a Spark SQL condition on ``table`` (templated), e.g. ``"ds = :ds"`` with
        ``parameters``; or a mapping ``{column: value}`` (each an equality with a bound value,
        ``None`` meaning ``IS NULL``).
    :param parameters: values bound to the ``:name`` placeholders of ``where`` / ``query``
        through Spark's named parameter markers (templated): values never become SQL text.
    """

    conn_id: str
    table: str | None = None
    query: str | None = None
    where: str | dict[str, Any] | None = None
    parameters: dict[str, Any] | None = field(default_factory=dict)

    template_fields: ClassVar[Sequence[str]] = ("table", "query", "where", "parameters")

    def __post_init__(self) -> None:
        if self.parameters is None:
            self.parameters = {}
        if not isinstance(self.conn_id, str) or not self.conn_id.strip():
            raise SpecError(f"SparkSource.conn_id: expected the id of an Airflow connection, got {self.conn_id!r}")
        if (self.table is None) == (self.query is None):
            raise SpecError("SparkSource: give exactly one of table= (optionally with where=) or query=")
        for name in ("table", "query"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise SpecError(f"SparkSource.{name}: expected non-empty text, got {value!r}")
        if self.query is not None and self.where is not None:
            raise SpecError("SparkSource.where: applies to table=; put the condition in the query")
        if self.where is not None and not isinstance(self.where, (str, dict)):
            raise SpecError(
                f"SparkSource.where: expected Spark SQL text or a {{column: value}} mapping, got {self.where!r}"
            )
        if not isinstance(self.parameters, dict):
            raise SpecError(
                f"SparkSource.parameters: expected a mapping of placeholder names to values, "
                f"got {type(self.parameters).__name__}"
            )

    def __str__(self) -> str:
        bound = ""
        if self.parameters:
            bound = " [" + ", ".join(f"{k}={v!r}" for k, v in self.parameters.items()) + "]"
        if self.query is not None:
            return f"spark://{self.conn_id}/({' '.join(self.query.split())[:200]}){bound}"
        where = ""
        if isinstance(self.where, dict) and self.where:
            where = " WHERE " + " AND ".join(f"{k} = {v!r}" for k, v in self.where.items())
        elif isinstance(self.where, str) and self.where.strip():
            where = f" WHERE {' '.join(self.where.split())}"
        return f"spark://{self.conn_id}/{self.table}{where}{bound}"

    def sql_text(self) -> str | None:
        """The Spark SQL text this source runs with its placeholders (``None``: a bare table or a
        mapping ``where``, built without SQL text)."""
        if self.query is not None:
            return self.query
        if isinstance(self.where, str) and self.where.strip():
            return f"SELECT * FROM {quote_name(str(self.table))} WHERE ({self.where})"
        return None

    def bound_parameters(self) -> dict[str, Any]:
        """The parameters the SQL text uses, checked: a placeholder without a value, or a value
        no placeholder uses (a typo that would silently filter nothing), is a :class:`SpecError`."""
        text = self.sql_text() or ""
        used = set(_PLACEHOLDER.findall(text))
        given = dict(self.parameters or {})
        missing = sorted(used - set(given))
        if missing:
            raise SpecError(
                f"SparkSource: placeholder(s) {', '.join(':' + m for m in missing)} have no value; pass "
                f"parameters={{{', '.join(repr(m) + ': ...' for m in missing)}}}"
            )
        unused = sorted(set(given) - used)
        if unused:
            where = "query" if self.query is not None else "where"
            raise SpecError(
                f"SparkSource.parameters: {', '.join(map(repr, unused))} not used by any :name "
                f"placeholder of {where}= (give the SQL text a :{unused[0]}, or drop the value)"
            )
        return given


def quote(identifier: str) -> str:
    """One identifier in backticks, a backtick inside doubled: ``a`b`` -> ```a``b```."""
    return "`" + str(identifier).replace("`", "``") + "`"


def name_parts(name: str) -> list[str]:
    """The parts of a (possibly multi-part) table name: ``cat.db.t`` -> ``["cat", "db", "t"]``;
    a part in backticks keeps its dots (```db`.`my.t``` -> ``["db", "my.t"]``)."""
    parts: list[str] = []
    i, text = 0, str(name).strip()
    while i <= len(text):
        if text[i : i + 1] == "`":
            j, buf = i + 1, []
            while True:
                k = text.find("`", j)
                if k < 0:
                    raise SpecError(f"SparkSource.table: unbalanced backtick in {name!r}")
                if text[k + 1 : k + 2] == "`":  # a doubled backtick is one backtick of the name
                    buf.append(text[j : k + 1])
                    j = k + 2
                    continue
                buf.append(text[j:k])
                break
            parts.append("".join(buf))
            i = k + 1
            if i < len(text) and text[i] != ".":
                raise SpecError(f"SparkSource.table: expected a dot after the backticked part in {name!r}")
        else:
            end = text.find(".", i)
            end = len(text) if end < 0 else end
            part = text[i:end].strip()
            if not part:
                raise SpecError(f"SparkSource.table: empty name part in {name!r}")
            parts.append(part)
            i = end
        i += 1
    return parts


def quote_name(name: str) -> str:
    """A table name with every part quoted: ``db.t`` -> ```db`.`t```."""
    return ".".join(quote(p) for p in name_parts(name))

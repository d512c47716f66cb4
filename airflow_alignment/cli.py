"""``airflow-alignment`` (also ``python -m airflow_alignment``): governance from a terminal.

::

    airflow-alignment dossier --policy lending --model credit-risk [--run-id R] -o dossier.html
    airflow-alignment audit export --policy lending [--model M] [--since 2026-01-01] [--until ...] -o audit.csv
    airflow-alignment verify-audit

Every command reads the artifact store the deployment writes to: ``--store URI``, else
``[alignment] artifact_store`` of the Airflow configuration (``AIRFLOW__ALIGNMENT__ARTIFACT_STORE``),
else ``$AIRFLOW_HOME/alignment``. Object storage URIs (``s3://conn_id@bucket/alignment``) use
Airflow's connections, as the tasks do.

Exit codes: 0 done (``verify-audit``: the trail is whole), 1 ``verify-audit`` found a problem,
3 an error, wrong usage included (the message says which), 4 nothing found (no such decision).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import IO

from airflow_alignment.reporting import dossier, html
from airflow_alignment.store import audit
from airflow_alignment.store.artifacts import ArtifactStore

EXIT_OK, EXIT_PROBLEM, EXIT_ERROR, EXIT_NOT_FOUND = 0, 1, 3, 4


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 3 ("error"), not argparse's 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _store(uri: str | None) -> ArtifactStore:
    return ArtifactStore(uri) if uri else ArtifactStore()


def _write(text: str, path: str | None, out: IO[str]) -> None:
    if path in (None, "-"):
        out.write(text)
        if not text.endswith("\n"):
            out.write("\n")
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def cmd_dossier(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        data = dossier.build(_store(args.store), args.policy, args.model, args.run_id)
    except dossier.DossierNotFound as exc:
        print(f"airflow-alignment dossier: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    as_json = args.format == "json" or (args.format is None and (args.output or "").endswith(".json"))
    text = json.dumps(data, indent=2, allow_nan=False, default=str) if as_json else html.render_dossier(data)
    _write(text, args.output, out)
    if args.output not in (None, "-"):
        decision = data["decision"]
        print(
            f"dossier of {args.policy} / {args.model}, run {decision['run_id']} ({decision['verdict']}): {args.output}",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_audit_export(args: argparse.Namespace, out: IO[str]) -> int:
    log = audit.read_audit(_store(args.store), policy=args.policy, model=args.model, since=args.since, until=args.until)
    _write(audit.export_csv(log.records), args.output, out)
    note = f"; {log.damaged} damaged record(s) skipped (run verify-audit)" if log.damaged else ""
    print(f"{len(log.records)} audit record(s){note}", file=sys.stderr)
    return EXIT_OK


def cmd_verify_audit(args: argparse.Namespace, out: IO[str]) -> int:
    found = audit.verify(_store(args.store))
    if args.format == "json":
        body = {
            "ok": found.ok,
            "records": found.records,
            "torn": found.torn,
            "mismatched": found.mismatched,
            "results_without_record": found.results_without_record,
            "records_without_result": found.records_without_result,
        }
        _write(json.dumps(body, indent=2), None, out)
        return EXIT_OK if found.ok else EXIT_PROBLEM
    out.write(f"{found.records} audit record(s) with a matching checksum\n")
    for label, items in (
        ("torn line(s) (an append cut short)", found.torn),
        ("record(s) whose checksum does not match (changed after they were written)", found.mismatched),
        ("stored result(s) without an audit record", found.results_without_record),
        ("audit record(s) whose result is no longer stored", found.records_without_result),
    ):
        if items:
            out.write(f"{len(items)} {label}:\n")
            out.writelines(f"  {item}\n" for item in items)
    out.write("the audit trail is whole\n" if found.ok else "PROBLEMS FOUND\n")
    return EXIT_OK if found.ok else EXIT_PROBLEM


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="airflow-alignment",
        description="Governance from a terminal: compliance dossiers, audit export and verification.",
    )
    common = _Parser(add_help=False)
    common.add_argument("--store", help="artifact store URI (default: [alignment] artifact_store)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    dossier = commands.add_parser("dossier", parents=[common], help="the compliance dossier of a gate decision")
    dossier.add_argument("--policy", required=True, help="policy name")
    dossier.add_argument("--model", required=True, help="model name (the gate's model=)")
    dossier.add_argument("--run-id", help="the run of the decision (default: the newest approved or rejected)")
    dossier.add_argument("-o", "--output", help="file to write (.html or .json); default stdout")
    dossier.add_argument("--format", choices=("html", "json"), help="default: from the file name, else html")
    dossier.set_defaults(run=cmd_dossier)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION", parser_class=_Parser)
    export = audit_commands.add_parser("export", parents=[common], help="audit records as CSV")
    export.add_argument("--policy", help="only this policy")
    export.add_argument("--model", help="only this model")
    export.add_argument("--since", help="ISO date or time, inclusive")
    export.add_argument("--until", help="ISO date or time, inclusive")
    export.add_argument("-o", "--output", help="CSV file to write; default stdout")
    export.set_defaults(run=cmd_audit_export)

    verify = commands.add_parser(
        "verify-audit", parents=[common], help="checksums, torn lines, results without records"
    )
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.set_defaults(run=cmd_verify_audit)
    return top


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args, out or sys.stdout))
    except Exception as exc:  # noqa: BLE001 - one line for the terminal, exit code 3
        print(f"airflow-alignment {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""``airflow-alignment`` (also ``python -m airflow_alignment``): governance from a terminal.

::

    airflow-alignment check POLICY [--var name=value ...] [--data check=path ...] [--format json]
    airflow-alignment dossier --policy lending --model credit-risk [--run-id R] -o dossier.html
    airflow-alignment audit export --policy lending [--model M] [--since 2026-01-01] [--until ...] -o audit.csv
    airflow-alignment verify-audit

Every command reads the artifact store the deployment writes to: ``--store URI``, else
``[alignment] artifact_store`` of the Airflow configuration (``AIRFLOW__ALIGNMENT__ARTIFACT_STORE``),
else ``$AIRFLOW_HOME/alignment``. Object storage URIs (``s3://conn_id@bucket/alignment``) use
Airflow's connections, as the tasks do.

``check`` runs every check of a policy without Airflow (a notebook, a model repository's CI), with
the operators' own code (data loading, SQL pushdown, streaming) and the gate's decision rule:
``--var name=value`` gives the source of a policy ``data`` key (what ``alignment_checks(data=...)``
gives in a DAG), ``--data check=path`` the source of one check. Nothing is stored.

Exit codes: ``check``: 0 approved, 1 rejected, 2 needs review, 3 error (a check could not be
evaluated, or the command could not run). Other commands: 0 done (``verify-audit``: the trail is
whole), 1 ``verify-audit`` found a problem, 3 an error, wrong usage included (the message says
which), 4 nothing found (no such decision).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import IO, Any

from airflow_alignment.engines.gate import decide, finding
from airflow_alignment.exceptions import SpecError
from airflow_alignment.policy import load_policy
from airflow_alignment.reporting import dossier, html
from airflow_alignment.results import CheckResult
from airflow_alignment.store import audit
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.taskgroup import check_operator

EXIT_OK, EXIT_PROBLEM, EXIT_ERROR, EXIT_NOT_FOUND = 0, 1, 3, 4
VERDICT_EXIT = {"approved": 0, "rejected": 1, "needs_review": 2}


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


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, given = value.partition("=")
        if not sep or not name:
            raise SpecError(f"{option} {value!r}: expected NAME=VALUE")
        out[name] = given
    return out


def run_checks(
    policy: Any,
    variables: dict[str, str],
    data: dict[str, str],
    model: str | None = None,
    store: str | None = None,
    review: bool = True,
) -> tuple[list[CheckResult], CheckResult]:
    """Each check of ``policy`` evaluated as its operator evaluates it, then the gate's decision
    on their results (as the gate reads them from XCom); ``review=False`` is a gate that
    approves warnings without a person."""
    loaded = load_policy(policy)
    unknown = sorted(set(data) - {c.name for c in loaded.checks})
    if unknown:
        names = ", ".join(c.name for c in loaded.checks)
        raise SpecError(f"--data {unknown[0]}=...: the policy {loaded.name!r} has no check {unknown[0]!r} ({names})")
    results = []
    for check in loaded.checks:
        source = data.get(
            check.name, variables.get(check.data, check.data) if isinstance(check.data, str) else check.data
        )
        named = isinstance(source, str) and source == check.data and check.name not in data
        if named and "/" not in source and not os.path.exists(source):
            raise SpecError(
                f"check {check.name!r}: its data {source!r} names a source the policy expects from outside; "
                f"give it with --var {source}=PATH (or --data {check.name}=PATH)"
            )
        if isinstance(source, str) and "{{" in source:
            raise SpecError(
                f"check {check.name!r}: its data {source!r} is an Airflow template; give the source with "
                f"--data {check.name}=PATH (or --var for the key it names)"
            )
        operator = check_operator(check.kind)(
            task_id=check.name, policy=loaded, check=check.name, data=source, model=model, artifact_store=store
        )
        try:
            result = operator.evaluate({})
        except Exception as exc:  # noqa: BLE001 - as the operator does: an error result, then the verdict
            result = operator.error_of(exc)
        result.policy = result.policy or loaded.ref
        results.append(result)
    findings = [finding(r.check, r.compact()) for r in results]
    return results, decide(findings, check_name="gate", review=review, model=model, policy=loaded.ref)


def cmd_check(args: argparse.Namespace, out: IO[str]) -> int:
    results, gate = run_checks(
        args.policy,
        _pairs(args.var, "--var"),
        _pairs(args.data, "--data"),
        args.model,
        args.store,
        review=not args.auto_approve_warnings,
    )
    verdict = gate.metrics["verdict"]
    errors = [r.check for r in results if r.status == "error"]
    if args.format == "json":
        body = {
            "verdict": verdict,
            "summary": gate.summary,
            "policy": gate.policy,
            "checks": [r.to_dict() for r in results],
        }
        _write(json.dumps(body, indent=2, allow_nan=False, default=str), None, out)
    else:
        for r in results:
            out.write(f"{r.check:<24} {r.status.upper():<8} {r.summary}\n")
        out.write(f"verdict: {verdict} ({gate.summary})\n")
    if errors:
        print(f"airflow-alignment check: could not evaluate {', '.join(errors)}", file=sys.stderr)
        return EXIT_ERROR
    return VERDICT_EXIT[verdict]


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

    check = commands.add_parser("check", parents=[common], help="run every check of a policy, without Airflow")
    check.add_argument("policy", metavar="POLICY", help="policy YAML file")
    check.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="the source of a policy data key (repeatable)"
    )
    check.add_argument(
        "--data", action="append", default=[], metavar="CHECK=PATH", help="the source of one check (repeatable)"
    )
    check.add_argument("--model", help="the model (for 'no worse than the last approved' bounds)")
    check.add_argument(
        "--auto-approve-warnings",
        action="store_true",
        help="as a gate with review=False: warnings approve (exit 0) instead of needing review (2)",
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(run=cmd_check)

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
    """Run a command; its output goes to ``out`` (default: the process's stdout, while anything
    else written to stdout, such as library logs, goes to stderr: stdout stays parseable)."""
    args = parser().parse_args(argv)
    with contextlib.ExitStack() as stack:
        if out is None:
            out = stack.enter_context(_stdout_for_output_only())
        try:
            return int(args.run(args, out))
        except Exception as exc:  # noqa: BLE001 - one line for the terminal, exit code 3
            print(f"airflow-alignment {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_ERROR


@contextlib.contextmanager
def _stdout_for_output_only() -> Iterator[IO[str]]:
    """A stream on the real stdout for the command's output; file descriptor 1 points at stderr
    meanwhile, so logs that libraries print to stdout (Great Expectations, Airflow's structlog)
    cannot mix into JSON or CSV written to stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    stream = os.fdopen(os.dup(saved), "w", encoding="utf-8", newline="")
    try:
        yield stream
    finally:
        stream.flush()
        stream.close()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


if __name__ == "__main__":
    sys.exit(main())

"""`socmon accounts ...`: the register of official accounts, its reviews, closures and ownership
changes, the log of requests for new accounts, and the weekly sweep on demand."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from socmon.cliutil import ConfigOpt, DataDirOpt, index_or_exit, settings_or_exit
from socmon.config.governance import OfficialAccount
from socmon.index.port import Index
from socmon.records import Alert, describe_validation_error, utcnow
from socmon.settings import Settings

if TYPE_CHECKING:
    from socmon.register import Register

accounts_app = typer.Typer(
    help="The register of official accounts: reviews, closures, requests, the weekly sweep.",
    no_args_is_help=True,
)

AccountArg = Annotated[
    str, typer.Argument(help="The account: HANDLE, or PLATFORM:HANDLE if the handle is on two.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who records this (name).")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"socmon: {message}", err=True)
    return typer.Exit(code)


def _today(settings: Settings) -> date:
    return datetime.now(settings.governance.zone).date()


def _find(settings: Settings, index: Index, reference: str) -> tuple[Register, OfficialAccount]:
    from socmon.register import UnknownAccount, load_register

    register = load_register(settings.accounts, index)
    try:
        return register, register.find(reference)
    except UnknownAccount as exc:
        raise _fail(str(exc)) from exc


def _last_post(last_posts: dict[tuple[str, str], datetime], account: OfficialAccount) -> str:
    from socmon.config.governance import handle_key

    times = [
        t
        for (platform, handle), t in last_posts.items()
        if platform == account.platform and handle_key(handle) == account.key[1]
    ]
    return max(times).date().isoformat() if times else "none on record"


def _record(model: type[Any], **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        raise _fail(describe_validation_error(exc), code=2) from exc


@accounts_app.command("list")
def list_accounts(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False
) -> None:
    """Every registered account with its owner, status, last post and last review."""
    from socmon.register import load_register

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        register = load_register(settings.accounts, index)
        last_posts = index.last_post_per_account()
    rows = [
        {
            "platform": acc.platform,
            "handle": acc.handle,
            "team": acc.team,
            "owner": acc.owner,
            "owner_left": acc.owner_left,
            "line_manager": acc.line_manager,
            "status": acc.status,
            "last_post": _last_post(last_posts, acc),
            "last_review": acc.last_review.isoformat() if acc.last_review else None,
            "expected_interval_days": acc.expected_interval_days,
        }
        for acc in register.accounts
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no accounts registered (add them under `accounts:` or a register file)")
        return
    for row in rows:
        owner = f"{row['owner'] or 'NO OWNER'}{' (left)' if row['owner_left'] else ''}"
        typer.echo(
            f"{row['platform']}:{row['handle']}  {row['status']}  team={row['team']}  "
            f"owner={owner}  last_post={row['last_post']}  last_review={row['last_review']}"
        )


@accounts_app.command("show")
def show_account(
    account: AccountArg, config: ConfigOpt = None, data_dir: DataDirOpt = None
) -> None:
    """One account: its register entry, last post, and what was recorded about it."""
    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        register, found = _find(settings, index, account)
        last_posts = index.last_post_per_account()
    for name, value in found.model_dump(mode="json").items():
        typer.echo(f"{name}: {value}")
    typer.echo(f"last_post: {_last_post(last_posts, found)}")
    history = register.history(found)
    typer.echo("history:" if history else "history: nothing recorded")
    for day, line in history:
        typer.echo(f"  {day.isoformat()}  {line}")


@accounts_app.command("review")
def review_account(
    account: AccountArg,
    by: ByOpt,
    on: Annotated[str | None, typer.Option(help="Date of the review (default today).")] = None,
    notes: Annotated[str, typer.Option(help="What the review found.")] = "",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Record the quarterly review of an account (clears its review reminder)."""
    from socmon.register import AccountReview, record_review

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        _, found = _find(settings, index, account)
        if found.status == "closed":
            msg = f"{found.label} is closed; a closed account is not reviewed"
            raise _fail(msg)
        review = _record(
            AccountReview,
            platform=found.platform,
            handle=found.handle,
            reviewed_on=on or _today(settings),
            reviewer=by,
            notes=notes,
        )
        record_review(index, review)
    typer.echo(f"review of {found.label} recorded for {review.reviewed_on.isoformat()}")


@accounts_app.command("close")
def close_account(
    account: AccountArg,
    by: ByOpt,
    reason: Annotated[str, typer.Option(help="Why it is closed.")],
    on: Annotated[str | None, typer.Option(help="Date of closure (default today).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Mark an account as closed: the sweep no longer checks it."""
    from socmon.register import AccountClosure, record_closure

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        _, found = _find(settings, index, account)
        closure = _record(
            AccountClosure,
            platform=found.platform,
            handle=found.handle,
            closed_on=on or _today(settings),
            closed_by=by,
            reason=reason,
        )
        record_closure(index, closure)
    typer.echo(f"{found.label} closed on {closure.closed_on.isoformat()}")


@accounts_app.command("owner")
def change_owner(
    account: AccountArg,
    by: ByOpt,
    owner: Annotated[str | None, typer.Option(help="The new owner.")] = None,
    line_manager: Annotated[str | None, typer.Option(help="The new line manager.")] = None,
    left: Annotated[
        bool, typer.Option("--left", help="The current owner has left (raises a handover).")
    ] = False,
    on: Annotated[str | None, typer.Option(help="Date of the change (default today).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Record a new owner or line manager, or that the owner has left."""
    from socmon.register import OwnershipChange, record_ownership_change

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        _, found = _find(settings, index, account)
        change = _record(
            OwnershipChange,
            platform=found.platform,
            handle=found.handle,
            changed_on=on or _today(settings),
            changed_by=by,
            owner=owner,
            line_manager=line_manager,
            owner_left=left,
        )
        record_ownership_change(index, change)
    typer.echo(f"ownership change of {found.label} recorded")


@accounts_app.command("request")
def request_account(
    team: Annotated[str, typer.Option(help="The team asking for the account.")],
    platform: Annotated[str, typer.Option(help="twitter, facebook, instagram, bluesky…")],
    purpose: Annotated[str, typer.Option(help="What the account is for.")],
    business_case: Annotated[str, typer.Option(help="Why it is needed.")],
    approving_manager: Annotated[str, typer.Option(help="Who approves or refuses it.")],
    decision: Annotated[str, typer.Option(help="pending, approved or rejected.")] = "pending",
    decided_on: Annotated[str | None, typer.Option(help="Date of the decision.")] = None,
    requested_on: Annotated[
        str | None, typer.Option(help="Date of the request (default today).")
    ] = None,
    handle: Annotated[str | None, typer.Option(help="The proposed handle.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who records it.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Record a request for a new account (again with a decision to record the decision)."""
    from stream_processors.governance.requests import AccountRequest, record_account_request

    settings = settings_or_exit(config, data_dir)
    request = _record(
        AccountRequest,
        team=team,
        platform=platform,
        purpose=purpose,
        business_case=business_case,
        approving_manager=approving_manager,
        decision=decision,
        decided_on=decided_on,
        requested_on=requested_on or _today(settings),
        proposed_handle=handle,
        recorded_by=by,
    )
    with index_or_exit(settings) as index:
        request_id = record_account_request(index, request)
    typer.echo(f"request {request_id} recorded ({request.decision})")


@accounts_app.command("requests")
def list_requests(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (default this month).")] = "",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The requests for new accounts made or decided in a month, and how many of each decision."""
    from stream_processors.governance.requests import account_requests, parse_month, summarise

    settings = settings_or_exit(config, data_dir)
    month = month or _today(settings).strftime("%Y-%m")
    try:
        parse_month(month)
    except ValueError as exc:
        raise _fail(str(exc), code=2) from exc
    with index_or_exit(settings) as index:
        found = account_requests(index, month)
    totals = summarise(found)
    if as_json:
        payload = {
            "month": month,
            "totals": totals,
            "requests": [r.model_dump(mode="json") | {"id": r.request_id} for r in found],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(
        f"{month}: {len(found)} request(s): "
        + ", ".join(f"{name} {count}" for name, count in totals.items())
    )
    for r in found:
        decided = f" on {r.decided_on.isoformat()}" if r.decided_on else ""
        typer.echo(
            f"  {r.request_id}  {r.requested_on.isoformat()}  {r.team}  {r.platform}  "
            f"{r.purpose}  (approver {r.approving_manager}: {r.decision}{decided})"
        )


def _parse_now(text: str | None) -> datetime:
    if not text:
        return utcnow()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"--now must be an ISO 8601 time such as 2026-10-19T09:00:00+01:00, not {text!r}"
        raise _fail(msg, code=2) from exc
    # A time without an offset is read as UTC, so the same command gives the same sweep anywhere.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_reachable(bootstrap: str, timeout: float = 3.0) -> None:
    """Fail fast when no bootstrap server accepts a connection: kafka-python would otherwise
    spend about half a minute trying before it gives up."""
    from socmon.kafka import BrokerUnavailable

    problems = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host or "localhost", int(port)), timeout=timeout).close()
            return
        except (OSError, ValueError) as exc:
            problems.append(f"{server.strip()}: {exc}")
    msg = f"Kafka broker at {bootstrap} did not answer ({'; '.join(problems)})"
    raise BrokerUnavailable(msg)


def produce_alerts(settings: Settings, alerts: list[Alert]) -> None:
    """Send `alerts` to the alerts topic and wait for the broker's acknowledgement."""
    from socmon.kafka import ensure_topics, make_producer, wait_for_broker

    kafka = settings.kafka
    _check_reachable(kafka.bootstrap_servers)
    wait_for_broker(kafka.bootstrap_servers, timeout=10.0)
    ensure_topics(kafka, [kafka.topics.alerts])
    producer = make_producer(kafka.bootstrap_servers)
    try:
        for alert in alerts:
            producer.send(kafka.topics.alerts, key=alert.alert_id.encode(), value=alert.to_bytes())
        producer.flush(timeout=30)
    finally:
        producer.close()


@accounts_app.command("sweep")
def sweep_now(
    now: Annotated[
        str | None, typer.Option(help="Sweep as if at this ISO time (default: now).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the alerts; send nothing to Kafka.")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the weekly sweep now: print the alerts and send them to the alerts topic."""
    from socmon.kafka import BrokerUnavailable
    from stream_processors.governance.job import SweepRun, record_sweep_run, run_sweep
    from stream_processors.governance.sweep import SweepPolicy, sweep_date

    settings = settings_or_exit(config, data_dir)
    moment = _parse_now(now)
    with index_or_exit(settings) as index:
        alerts = run_sweep(settings, index, moment)
        if not dry_run:
            try:
                produce_alerts(settings, alerts)
            except BrokerUnavailable as exc:
                msg = f"{exc}; nothing was sent (use --dry-run to only print the alerts)"
                raise _fail(msg) from exc
            day = sweep_date(moment, SweepPolicy.from_settings(settings.governance))
            run = SweepRun(sweep_date=day, ran_at=moment, trigger="cli", alerts=len(alerts))
            record_sweep_run(index, run)
    if as_json:
        typer.echo(json.dumps([a.model_dump(mode="json") for a in alerts], indent=2))
    else:
        for alert in alerts:
            typer.echo(f"[{alert.kind}] {alert.alert_id}: {alert.summary}")
        sent = "printed only (dry run)" if dry_run else f"sent to {settings.kafka.topics.alerts}"
        typer.echo(f"{len(alerts)} alert(s) {sent}")

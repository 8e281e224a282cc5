"""The commands of the built-in web dashboard: serve it, add a user, export the corrections.

``socmon dashboard`` serves the dashboard against the configured index (SQLite or
Elasticsearch); ``socmon dashboard add-user NAME`` creates a local user (the password is asked
for, or read from standard input when that is not a terminal; ``--replace`` sets a new one and
logs the user out everywhere), who sees every post, or with ``--role department --department
ID`` only that department's; ``socmon dashboard set-role NAME`` changes a user's role,
``socmon dashboard list-users`` lists them; ``socmon dashboard remove-user NAME`` removes one and
ends their sessions; ``socmon dashboard export-feedback --out FILE`` writes the corrections as
labelled JSON Lines for training.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from socmon.cliutil import ConfigOpt, DataDirOpt, index_or_exit, settings_or_exit, setup_logging
from socmon.settings import Settings

log = logging.getLogger(__name__)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one (read it from the socket)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(
    config: Path | None,
    data_dir: Path | None,
    host: str | None,
    port: int | None,
) -> None:
    """Serve the dashboard until SIGINT or SIGTERM."""
    import uvicorn

    from dashboards.web.app import create_app
    from dashboards.web.users import list_users

    settings = settings_or_exit(config, data_dir)
    setup_logging("INFO")
    dash = settings.dashboard
    with index_or_exit(settings) as index:
        app = create_app(settings, index)
        try:
            sock = bind_socket(host or dash.host, dash.port if port is None else port)
        except OSError as exc:
            where = f"{host or dash.host}:{dash.port if port is None else port}"
            typer.echo(f"socmon: cannot listen on {where}: {exc.strerror}", err=True)
            raise typer.Exit(1) from exc
        bound_host, bound_port = sock.getsockname()[:2]
        typer.echo(f"socmon: dashboard on {url_of(bound_host, bound_port)}")
        if dash.auth == "local" and not list_users(index):
            typer.echo(
                "socmon: no dashboard user yet; create one with `socmon dashboard add-user NAME`"
            )
        sys.stdout.flush()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                # The client address must be the TCP peer: proxy mode trusts a header by it.
                proxy_headers=False,
                server_header=False,
                # The access log would hold search terms, which may be names of patients.
                access_log=False,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
        )
        server.run(sockets=[sock])


RoleOpt = Annotated[
    str | None,
    typer.Option(
        "--role",
        help="communications (sees every post) or department (sees one department's posts). "
        "Default: communications for a new user, unchanged with --replace.",
    ),
]
DepartmentOpt = Annotated[
    str | None,
    typer.Option("--department", help="With --role department: the department id it sees."),
]


def add_user_command(
    name: Annotated[str, typer.Argument(help="The user name to log in with.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Set a new password for an existing user.")
    ] = False,
    role: RoleOpt = None,
    department: DepartmentOpt = None,
) -> None:
    """Create a dashboard user (local login); the password is asked for, or read from stdin."""
    from dashboards.web.users import UserError, add_user, check_name, check_role

    settings = settings_or_exit(config, data_dir)
    checked_role = None
    try:
        check_name(name)
        if role is not None or department is not None:
            known = [d.id for d in settings.departments]
            checked_role, department = check_role(role or "department", department, known)
    except UserError as exc:
        typer.echo(f"socmon: {exc}", err=True)
        raise typer.Exit(2) from exc
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with index_or_exit(settings) as index:
        try:
            user = add_user(
                index, name, password, replace=replace, role=checked_role, department=department
            )
        except UserError as exc:
            typer.echo(f"socmon: {exc}", err=True)
            raise typer.Exit(2) from exc
    if settings.dashboard.auth != "local":
        typer.echo(
            "socmon: note: dashboard.auth is 'proxy', so local users are not used to log in",
            err=True,
        )
    sees = _sees(user.role, user.department, settings)
    if replace:
        typer.echo(f"user {name} updated ({sees}); their sessions are ended")
    else:
        typer.echo(f"user {name} created ({sees})")


def _sees(role: str, department: str | None, settings: Settings) -> str:
    if role != "department":
        return "communications: sees every post"
    names = {d.id: d.name for d in settings.departments}
    return f"department: sees only the posts of {names.get(department or '', department)}"


def set_role_command(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="communications (sees every post) or department (one department's posts).",
        ),
    ],
    department: DepartmentOpt = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Change what a dashboard user sees; it applies from their next page."""
    from dashboards.web.users import UserError, check_role, set_role

    settings = settings_or_exit(config, data_dir)
    try:
        checked, department = check_role(role, department, [d.id for d in settings.departments])
        with index_or_exit(settings) as index:
            user = set_role(index, name, checked, department)
    except UserError as exc:
        typer.echo(f"socmon: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"user {name}: {_sees(user.role, user.department, settings)}")


def list_users_command(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """List the dashboard users and what each sees."""
    from dashboards.web.users import list_users

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        users = list_users(index)
    if not users:
        typer.echo("no dashboard users yet; create one with `socmon dashboard add-user NAME`")
    for user in sorted(users, key=lambda u: u.name.casefold()):
        typer.echo(f"{user.name}\t{_sees(user.role, user.department, settings)}")


def remove_user_command(
    name: Annotated[str, typer.Argument(help="The user name to remove.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove a dashboard user (local login) and end their sessions at once."""
    from dashboards.web.users import remove_user

    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings) as index:
        removed = remove_user(index, name)
    if not removed:
        typer.echo(f"socmon: no dashboard user {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"user {name} removed; their sessions are ended")


def export_feedback_command(
    out: Annotated[Path, typer.Option("--out", help="The JSON Lines file to write.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    task: Annotated[
        str,
        typer.Option(
            help="sentiment ({text, label}: compliment|concern|neutral), departments ({text, "
            "label}: a list of ids), urgent ({text, urgent}) or abusive ({text, abusive})."
        ),
    ] = "sentiment",
) -> None:
    """Write the dashboard's corrections of one judgement as labelled JSON Lines."""
    from dashboards.web.feedback import FEEDBACK_TASKS, export_feedback

    chosen = next((t for t in FEEDBACK_TASKS if t == task), None)
    if chosen is None:
        typer.echo(
            f"socmon: --task must be one of {', '.join(FEEDBACK_TASKS)}, not {task!r}", err=True
        )
        raise typer.Exit(2)
    settings = settings_or_exit(config, data_dir)
    with index_or_exit(settings, setup=False) as index:
        count = export_feedback(index, out, chosen)
    typer.echo(f"wrote {count} labelled examples to {out}")


def register(app: typer.Typer) -> None:
    """Add the dashboard's commands to `socmon`."""
    dashboard = typer.Typer(
        help="The built-in web dashboard.", invoke_without_command=True, no_args_is_help=False
    )

    @dashboard.callback()
    def dashboard_main(
        ctx: typer.Context,
        config: ConfigOpt = None,
        data_dir: DataDirOpt = None,
        host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
        port: Annotated[
            int | None, typer.Option(help="Port to listen on (0 picks a free one).")
        ] = None,
    ) -> None:
        """Serve the dashboard against the configured index (without a sub-command)."""
        if ctx.invoked_subcommand is None:
            serve(config, data_dir, host, port)

    dashboard.command("add-user")(add_user_command)
    dashboard.command("set-role")(set_role_command)
    dashboard.command("list-users")(list_users_command)
    dashboard.command("remove-user")(remove_user_command)
    dashboard.command("export-feedback")(export_feedback_command)
    app.add_typer(dashboard, name="dashboard")

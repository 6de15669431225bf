"""The `syncgov` command line: a thin click shell over the library.

Each command lives in a module named after what it does and registers itself on `main`.
Library code raises `SyncgovError`s; `run_cli` turns them into one-line messages and exit codes
(0 ok, 1 findings or failures, 2 usage or unreadable input).
"""

from __future__ import annotations

import importlib
import sys

import click

# One module per command family; each defines click commands and a `register(main)` function.
COMMAND_MODULES: tuple[str, ...] = (
    "governance.cli.simulate",
    "governance.cli.demo",
    "governance.cli.replay",
    "governance.cli.run",
    "governance.cli.generate",
    "governance.cli.lint",
    "governance.cli.export",
    "governance.cli.deliver",
    "governance.cli.status",
    "governance.cli.report",
    "governance.cli.metrics",
    "governance.cli.alerts",
    "governance.cli.impact",
    "governance.cli.review",
    "governance.cli.contracts",
    "governance.cli.new",
)


# Commands that load their module alone: the readers must answer within a second even on a
# busy machine, and importing every command (dbt artifacts, the simulator, …) costs more.
# Any other command loads every module.
OWN_MODULE: dict[str, str] = {
    "status": "governance.cli.status",
    "metrics": "governance.cli.metrics",
    "report": "governance.cli.report",
    "review": "governance.cli.review",
    "impact": "governance.cli.impact",
}


class LazyGroup(click.Group):
    """Registers a command module on first use instead of at import."""

    def _load(self, module: str) -> None:
        loaded = self.__dict__.setdefault("_loaded", set())
        if module not in loaded:
            loaded.add(module)
            importlib.import_module(module).register(self)

    def _load_all(self) -> None:
        for module in COMMAND_MODULES:
            self._load(module)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in OWN_MODULE:
                self._load(OWN_MODULE[cmd_name])
            else:
                self._load_all()
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="syncgov", prog_name="syncgov")
def main() -> None:
    """Govern operational data sync around a dbt warehouse.

    Simulate a landing zone, lint the governance registry, generate dbt inputs and schedules,
    gate reverse-ETL exports, and report sync health. Run `syncgov COMMAND --help` for details.
    """


def run(argv: list[str] | None = None) -> None:
    """Console entry point: click's usage errors become one line and exit code 2."""
    try:
        code = main.main(args=argv, prog_name="syncgov", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # `syncgov` alone: the help, not an error message wrapped around it
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"syncgov: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("syncgov: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"syncgov: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

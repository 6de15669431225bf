"""The connection settings of a dbt target, read from the profile the user already has.

syncgov has no configuration of its own for where the warehouse is: `--target NAME` picks an
output of the project's profile in `profiles.yml` (`$DBT_PROFILES_DIR`, else the project
directory, else `~/.dbt`), rendered by dbt's own renderer so `env_var()` means what it means
to dbt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from governance.errors import InputError, UsageError

ENGINES = ("duckdb", "snowflake")


def profiles_dir(project_dir: Path) -> Path:
    """Where dbt looks for profiles.yml, in dbt's order."""
    env = os.environ.get("DBT_PROFILES_DIR")
    if env:
        return Path(env)
    if (project_dir / "profiles.yml").is_file():
        return project_dir
    return Path.home() / ".dbt"


def profile_name(project_dir: Path) -> str:
    path = project_dir / "dbt_project.yml"
    try:
        name = (yaml.safe_load(path.read_text()) or {}).get("profile")
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the dbt project ({exc})") from None
    if not name:
        raise InputError(f"{path}: names no `profile`")
    return str(name)


def read_target(project_dir: Path, target: str | None) -> tuple[str, dict[str, Any]]:
    """(target name, rendered output) of `target`, or of the profile's default target."""
    # dbt is heavy to import, and only a --target needs its renderer
    from dbt.config.renderer import ProfileRenderer  # noqa: PLC0415
    from dbt.exceptions import DbtRuntimeError  # noqa: PLC0415
    from dbt_common.context import set_invocation_context  # noqa: PLC0415
    from dbt_common.exceptions import DbtBaseException  # noqa: PLC0415

    directory = profiles_dir(project_dir)
    path = directory / "profiles.yml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read the dbt profiles ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML ({exc})") from None
    name = profile_name(project_dir)
    profile = raw.get(name)
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise InputError(f"{path}: no profile {name!r} with outputs")
    set_invocation_context(os.environ)
    renderer = ProfileRenderer({})
    try:
        chosen = target or str(renderer.render_value(profile.get("target", "default")))
        if chosen not in profile["outputs"]:
            known = ", ".join(sorted(profile["outputs"]))
            raise UsageError(f"--target {chosen}: no such target in profile {name!r}"
                             f" ({path}); known: {known}")
        output = renderer.render_data(profile["outputs"][chosen])
    except (DbtRuntimeError, DbtBaseException) as exc:
        detail = " ".join(str(exc).split())
        raise UsageError(f"target {target or '(default)'} of {path}: {detail}") from None
    if output.get("type") not in ENGINES:
        raise UsageError(f"target {chosen}: type {output.get('type')!r} is not supported;"
                         f" syncgov reads {' and '.join(ENGINES)}")
    return chosen, output

"""The README's documented path, followed literally: `make demo` (on a smaller simulation), then
every command of the README's Exports block, as written there, into a real PostgreSQL 15.

The test reads the commands from README.md itself, so the README cannot drift from what works:
it runs them in a copy of the project (its own target/ and .warehouse/), with
SYNCGOV_<SYSTEM>_DSN set as the README says, and checks that the rows arrived.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.e2e.postgres_server import postgres_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("readme_exports")]

BIN = Path(sys.executable).parent
COPIED = ("Makefile", "dbt_project.yml", "profiles.yml", "pyproject.toml", "uv.lock",
          "README.md", "models", "macros", "seeds", "registry", "tests/dbt",
          "governance", "docs")
# what each README command may exit with, as the README documents it
ALLOWED = {"export": {0, 1}, "deliver": {0, 1}, "reconcile-targets": {0}, "status": {0, 1}}


def readme_export_commands(readme: Path) -> list[str]:
    section = readme.read_text().split("\n## Exports\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the README's Exports section has a bash block"
    commands = [line.split("  #", 1)[0].strip() for line in block[1].splitlines()]
    return [c for c in commands if c]


def _copy_project(src: Path, dst: Path) -> None:
    for name in COPIED:
        source = src / name
        if source.is_dir():
            shutil.copytree(source, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dst / name)
    # make's `install` step is up to date when .venv/bin/syncgov is newer than the lock
    (dst / ".venv").symlink_to(BIN.parent)


def test_the_readme_path_from_make_demo_delivers_the_rows(project_dir: Path,
                                                          tmp_path: Path) -> None:
    commands = readme_export_commands(project_dir / "README.md")
    assert [c.split()[1] for c in commands] == ["export", "deliver", "reconcile-targets",
                                                 "status"]
    project = tmp_path / "project"
    _copy_project(project_dir, project)
    with postgres_server() as server:
        server.create_database("targets")
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
               "DO_NOT_TRACK": "1",
               **{f"SYNCGOV_{s}_DSN": server.dsn("targets")
                  for s in ("HELPDESK", "STOREFRONT", "PROCUREMENT")}}
        env.pop("SYNCGOV_WAREHOUSE", None)
        demo = subprocess.run(["make", "demo", "DEMO_ARGS=--events 3000"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=1200, check=False)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        outputs = {}
        for command in commands:
            done = subprocess.run(["bash", "-c", command], cwd=project, env=env,
                                  capture_output=True, text=True, timeout=900, check=False)
            verb = command.split()[1]
            assert done.returncode in ALLOWED[verb], (command, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr, (command, done.stderr)
            outputs[verb] = done.stdout

        warehouse = project / ".warehouse" / "syncgov.duckdb"
        index = json.loads((project / "target" / "exports" / "index.json").read_text())
        published = {e["export_id"] for e in index["exports"] if e["verdict"] != "blocked"}
        assert published, outputs["export"]
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            log = {r[0]: r[1:] for r in con.execute(
                "select export_id, status, rows_sent, rows_accepted from audit.sync_delivery_log"
            ).fetchall()}
            model = sorted(con.execute(
                "select sku, list_price, _changed_at"
                " from exports.exp_storefront__product_availability").fetchall())
        finally:
            con.close()
        # every published export was delivered in full, nothing else was sent
        assert set(log) == published
        for export_id in published:
            status, sent, accepted = log[export_id]
            assert status == "delivered", (export_id, outputs["deliver"])
            assert sent == accepted > 0
        assert "storefront_product_availability" in published
        # the demo's own `syncgov export` published without delivering: the README's batch
        # still starts at the beginning (nothing was confirmed), so it carries every row
        storefront = json.loads((project / "target" / "exports" / "manifests" /
                                 "storefront_product_availability.json").read_text())["batch"]
        assert (storefront["watermark_from"], storefront["rows_in_batch"]) == (None, len(model))
        pg = server.connect("targets")
        try:
            cur = pg.cursor()
            cur.execute("select sku, price, syncgov_changed_at from product_availability")
            assert sorted(cur.fetchall()) == model
        finally:
            pg.close()
        assert "matched" in outputs["reconcile-targets"]
        assert "outbound storefront_product_availability" in outputs["status"]

"""A throwaway PostgreSQL server for tests and benchmarks: initdb into a temporary folder, a
free port on 127.0.0.1, password authentication over TCP, stopped (and its folder removed) at
the end. Debian's server binaries are found under /usr/lib/postgresql/<version>/bin (the
Makefile's system-packages target installs them); as root, the server runs as the unprivileged
``postgres`` user, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

import kpikit

USER, PASSWORD, DATABASE = "kpikit", "pw-Xq7!s3cret", "postgres"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (the newest version installed), or None."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """A running server; ``url`` carries the password, ``url_without_password`` does not."""

    def __init__(self) -> None:
        folder = binaries()
        if folder is None:
            raise RuntimeError("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bin = folder
        self.root = Path(tempfile.mkdtemp(prefix="kpikit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            # The server's files belong to the user it runs as.
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                  "--auth-local=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        pwfile.unlink()
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c full_page_writes=off -c TimeZone=UTC"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", options, "-w", "-t", "60", "start")
        self.url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"
        self.url_without_password = f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, check=False)
        if done.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr[-2000:]}\n{log[-2000:]}")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


SCALE = 0.05
# Each demo role's columns (kpikit.Sources.demo's) as spec keys.
COLUMNS: dict[str, dict[str, Any]] = {
    role: dict(cols) for role, (_, cols) in
    ((r, getattr(kpikit.Sources.demo(scale=0.01), r)) for r in kpikit.Sources.demo(scale=0.01).roles())
}


def demo_tables() -> dict[str, pa.Table]:
    """The demo company's tables (as kpikit.Sources.demo builds them) as Arrow, categories as
    text: every database stores text, so every copy starts from the same types."""
    company = kpikit.Sources.demo(scale=SCALE)
    tables = {}
    for role in company.roles():
        t = pa.Table.from_pandas(getattr(company, role)[0], preserve_index=False)
        for i, f in enumerate(t.schema):
            if pa.types.is_dictionary(f.type):
                t = t.set_column(i, f.name, t.column(i).cast(pa.string()))
        tables[role] = t.replace_schema_metadata(None)
    return tables

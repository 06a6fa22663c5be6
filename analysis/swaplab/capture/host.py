"""The host side of a capture: running host commands, a private apt client, the cache folder,
and the kernel image record that both kernel sources (Debian packages, :mod:`kernels`; built
from source, :mod:`kbuild`) produce.  It imports no other capture module.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swaplab.errors import SwaplabError
from swaplab.paths import cache_root

__all__ = ["AptClient", "CaptureError", "KernelImage", "cache_dir", "last_error_line",
           "run_command", "sha256_file", "version_key"]

# Debian suites the private sources list reaches (kernels in -security/-updates too).
APT_SUITES = {
    "http://deb.debian.org/debian": [
        "bookworm", "bookworm-updates", "trixie", "trixie-updates", "sid"],
    "http://deb.debian.org/debian-security": ["bookworm-security", "trixie-security"],
}
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class CaptureError(SwaplabError, RuntimeError):
    """A kernel capture could not be made (fetch, boot, panic, timeout, truncated output)."""


@dataclass(frozen=True)
class KernelImage:
    """A bootable kernel and what the guest needs to load for it.

    ``modules`` are the ``.ko`` files to insmod in this order (empty when everything needed is
    built in); ``system_map`` is a kallsyms-like symbol list if known; ``provenance`` is
    recorded in every dataset (packages + sha256, or source version / config / patch hashes).
    """

    name: str
    release: str
    vmlinuz: Path
    modules: tuple[Path, ...] = ()
    system_map: Path | None = None
    config: Path | None = None
    builtin_modules: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    def package_attr(self) -> str:
        """Packages as ``name=version`` joined by spaces (dataset attr ``kernel_package``)."""
        pk = self.provenance.get("packages", [])
        if pk:
            return " ".join(f"{p['package']}={p['version']}" for p in pk)
        return str(self.provenance.get("source", self.name))

    def sha256_attr(self) -> str:
        """Package sha256s joined by spaces, or the build hash (``kernel_package_sha256``)."""
        pk = self.provenance.get("packages", [])
        if pk:
            return " ".join(p["sha256"] for p in pk)
        return str(self.provenance.get("sha256", self.provenance.get("build_hash", "")))


def cache_dir() -> Path:
    """Root of swaplab's caches: ``$SWAPLAB_CACHE`` or ``~/.cache/swaplab``."""
    return cache_root()


def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed (package pins, build outputs, shipped traces)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_command(cmd: list[str], what: str, *, error: type[Exception] = CaptureError,
                cwd: Path | None = None, env: dict[str, str] | None = None,
                log: Path | None = None, stdin_path: Path | None = None,
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Run a host command (apt, dpkg, make, ...) for the capture and kernel-build steps.

    ``env`` adds to the environment; ``log`` appends the command and its output.  A missing
    command or a non-zero exit raises ``error`` with one line: what failed, the exit status
    and the most telling output line (the last one mentioning an error, else the last)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **env} if env else None,
                              stdin=stdin, capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except FileNotFoundError:
        raise error(f"{what}: command {cmd[0]!r} not found (run `make sysdeps` as root)"
                    ) from None
    finally:
        if stdin_path:
            stdin.close()
    out = proc.stdout + proc.stderr
    if log:
        with open(log, "a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{out}\n")
    if proc.returncode != 0:
        where = f" (log: {log})" if log else ""
        raise error(f"{what} failed (exit {proc.returncode}): {last_error_line(out)}{where}")
    return proc


def last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.search(r"error|Error|FAILED|failed|No such", ln)]
    return (errors or lines or ["no output"])[-1][:300]


class AptClient:
    """apt-get/apt-cache with a private sources list, lists folder and package cache (the
    host's apt configuration is not touched).  ``sources``: sources.list lines (default: the
    Debian suites of :data:`APT_SUITES`); ``error``: the exception a failure raises."""

    def __init__(self, base: Path, sources: list[str] | None = None,
                 error: type[Exception] = CaptureError):
        self.base, self.error = base, error
        (base / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (base / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        lines = sources or [f"deb [signed-by={KEYRING}] {url} {suite} main"
                            for url, suites in APT_SUITES.items() for suite in suites]
        (base / "sources.list").write_text("\n".join(lines) + "\n")
        self.opts = [
            f"-oDir::Etc::SourceList={base / 'sources.list'}",
            "-oDir::Etc::SourceParts=/dev/null",
            f"-oDir::State::Lists={base / 'lists'}",
            f"-oDir::Cache={base}",
            f"-oDir::Cache::archives={base / 'archives'}",
            "-oAPT::Architecture=amd64",
            "-oAcquire::Languages=none",
            "-oDebug::NoLocking=1",
        ]
        self.updated = False

    def update(self) -> None:
        if not self.updated:
            run_command(["apt-get", *self.opts, "update", "-qq"],
                        "apt-get update (private lists)", error=self.error, timeout=600)
            self.updated = True

    def show(self, package: str, version: str | None = None) -> dict[str, str] | None:
        """The Packages record of ``package`` (a given version, else the candidate)."""
        target = f"{package}={version}" if version else package
        out = subprocess.run(["apt-cache", *self.opts, "show", target],
                             capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            return None
        records = [_parse_record(r) for r in out.stdout.strip().split("\n\n")]
        records = [r for r in records if r.get("Package") == package]
        if version:
            records = [r for r in records if r.get("Version") == version]
        if not records:
            return None
        return max(records, key=lambda r: version_key(r["Version"]))

    def names(self, regex: str) -> list[str]:
        out = run_command(["apt-cache", *self.opts, "pkgnames"], "apt-cache pkgnames",
                          error=self.error)
        pat = re.compile(regex)
        return [n for n in out.stdout.split() if pat.match(n)]

    def download(self, package: str, version: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        run_command(["apt-get", *self.opts, "download", "-qq", f"{package}={version}"],
                    f"apt-get download {package}={version}", error=self.error, cwd=dest,
                    timeout=1800)
        debs = sorted(dest.glob(f"{package}_*.deb"))
        if not debs:
            raise self.error(f"apt-get download {package}={version}: no .deb in {dest}")
        return debs[-1]


def _parse_record(text: str) -> dict[str, str]:
    rec = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and ":" in line:
            k, _, v = line.partition(":")
            rec[k] = v.strip()
    return rec


def version_key(version: str) -> tuple[Any, ...]:
    """A sort key for Debian versions of one series (digits compare as numbers)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", version))

"""Kernels the captures boot: resolve a name to a :class:`KernelImage`, fetching if needed.

Names ``"6.1"``, ``"6.12"`` and ``"7"`` are Debian cloud kernels pinned in
``kernels/versions.toml``; they are fetched with ``apt-get download`` through a private
sources list and lists folder, checked against the pinned sha256, unpacked with
``dpkg-deb -x`` and indexed with ``depmod -b`` under the cache folder (never installed on the
host).  A name containing ``"+"`` (``"6.1+hugh-scan"``) is a kernel built from source by
:func:`swaplab.capture.kbuild.resolve_built_kernel`.

Cache: ``$SWAPLAB_CACHE`` (default ``~/.cache/swaplab``); kernels live in ``<cache>/kernels``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swaplab.errors import SwaplabError

__all__ = [
    "CaptureError",
    "KernelImage",
    "KernelFallbackWarning",
    "cache_dir",
    "debian_kernel_names",
    "kernels_dir",
    "resolve_kernel",
]

KERNELS_DIR = Path(__file__).resolve().parents[3] / "kernels"
MANIFEST = "kernel.json"  # written last: its presence marks a complete unpacked kernel

# Debian suites the private sources list reaches (kernels in -security/-updates too).
APT_SUITES = {
    "http://deb.debian.org/debian": [
        "bookworm", "bookworm-updates", "trixie", "trixie-updates", "sid"],
    "http://deb.debian.org/debian-security": ["bookworm-security", "trixie-security"],
}
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class CaptureError(SwaplabError, RuntimeError):
    """A kernel capture could not be made (fetch, boot, panic, timeout, truncated output)."""


class KernelFallbackWarning(UserWarning):
    """A pinned kernel package is gone from the archive; a newer one of the series is used."""


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
    env = os.environ.get("SWAPLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "swaplab"


def kernels_dir() -> Path:
    """Where unpacked kernels are kept."""
    return cache_dir() / "kernels"


def _versions() -> dict[str, Any]:
    with open(KERNELS_DIR / "versions.toml", "rb") as f:
        return tomllib.load(f)["kernel"]


def debian_kernel_names() -> list[str]:
    """Names of the pinned Debian kernels (``6.1``, ``6.12``, ``7``)."""
    return list(_versions())


def _allowed_names() -> str:
    return ", ".join(debian_kernel_names()) + " or a built kernel '<base>+<patch>' (e.g. 6.1+none)"


def resolve_kernel(name: str, *, fetch: bool = True) -> KernelImage:
    """The kernel called ``name``, fetched and unpacked into the cache if needed.

    Raises :class:`CaptureError` for an unknown name or a failed fetch.
    """
    if "+" in name:
        try:
            from swaplab.capture.kbuild import resolve_built_kernel
        except ImportError as exc:
            raise CaptureError(f"kernel {name!r}: built kernels are not available "
                               f"({exc}); allowed: {_allowed_names()}") from None
        return resolve_built_kernel(name)
    spec = _versions().get(name)
    if spec is None:
        raise CaptureError(f"unknown kernel {name!r}; allowed: {_allowed_names()}")
    root = kernels_dir() / name
    pinned = root / spec["release"]
    if (pinned / MANIFEST).exists():
        return _current_index(name, spec, pinned)
    if not fetch:
        raise CaptureError(f"kernel {name!r} ({spec['release']}) is not in {root}; "
                           "run `swaplab capture` once with network access to fetch it")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / ".lock"):
        if (pinned / MANIFEST).exists():
            return _load_manifest(name, pinned)
        return _fetch(name, spec, root)


# --------------------------------------------------------------------------------------------
# fetching
# --------------------------------------------------------------------------------------------


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive file lock (parallel captures fetch each kernel once)."""
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _run(cmd: list[str], what: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    except FileNotFoundError:
        raise CaptureError(f"{what}: command {cmd[0]!r} not found (run `make sysdeps` as "
                           "root)") from None
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CaptureError(f"{what}: {' '.join(cmd[:2])} failed (rc {out.returncode}): {last}")
    return out


class _Apt:
    """apt-get/apt-cache with a private sources list, lists folder and package cache."""

    def __init__(self, base: Path):
        self.base = base
        (base / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (base / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        lines = [f"deb [signed-by={KEYRING}] {url} {suite} main"
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
            _run(["apt-get", *self.opts, "update", "-qq"], "apt-get update (private lists)",
                 timeout=600)
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
        return max(records, key=lambda r: _vkey(r["Version"]))

    def names(self, regex: str) -> list[str]:
        out = _run(["apt-cache", *self.opts, "pkgnames"], "apt-cache pkgnames")
        pat = re.compile(regex)
        return [n for n in out.stdout.split() if pat.match(n)]

    def download(self, package: str, version: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", *self.opts, "download", "-qq", f"{package}={version}"],
             f"apt-get download {package}={version}", cwd=dest, timeout=1800)
        debs = sorted(dest.glob(f"{package}_*.deb"))
        if not debs:
            raise CaptureError(f"apt-get download {package}={version}: no .deb in {dest}")
        return debs[-1]


def _parse_record(text: str) -> dict[str, str]:
    rec = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and ":" in line:
            k, _, v = line.partition(":")
            rec[k] = v.strip()
    return rec


def _vkey(version: str) -> tuple[Any, ...]:
    """A sort key for Debian versions of one series (digits compare as numbers)."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", version))


def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed (package pins, build outputs, shipped traces)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _plan(name: str, spec: dict[str, Any], apt: _Apt) -> tuple[str, list[dict[str, str]], bool]:
    """(release, [{package, version, sha256}], fell_back) for the pinned or newest kernel."""
    pins = spec["pin"]
    if all(apt.show(p["package"], p["version"]) for p in pins):
        return spec["release"], [dict(p) for p in pins], False
    candidates = []
    for pkg in apt.names(spec["fallback"]):
        m = re.match(spec["fallback"], pkg)
        rec = apt.show(pkg)
        if m and rec:
            candidates.append((_vkey(rec["Version"]), m.group("release")))
    if not candidates:
        raise CaptureError(f"kernel {name!r}: pinned {spec['release']} is gone from the archive "
                           f"and nothing matches {spec['fallback']!r}")
    release = max(candidates)[1]
    chosen = []
    for template in spec["packages"]:
        pkg = template.format(release=release)
        rec = apt.show(pkg)
        if rec is None:
            raise CaptureError(f"kernel {name!r}: fallback package {pkg} is not in the archive")
        chosen.append({"package": pkg, "version": rec["Version"], "sha256": rec["SHA256"]})
    return release, chosen, True


def _fetch(name: str, spec: dict[str, Any], root: Path) -> KernelImage:
    """Download, verify, unpack and index one Debian kernel; write its manifest last."""
    apt = _Apt(cache_dir() / "apt")
    apt.update()
    release, packages, fell_back = _plan(name, spec, apt)
    if fell_back:
        msg = (f"kernel {name!r}: pinned {spec['release']} is GONE from the Debian archive; "
               f"using the newest of the series, {release} "
               f"({', '.join(p['package'] + '=' + p['version'] for p in packages)}); "
               "datasets record this exact version")
        print(f"WARNING: {msg}", file=sys.stderr)
        warnings.warn(msg, KernelFallbackWarning, stacklevel=3)
    dest = root / release
    if (dest / MANIFEST).exists():
        return _current_index(name, spec, dest)
    if dest.exists():
        shutil.rmtree(dest)
    unpacked = dest / "root"
    unpacked.mkdir(parents=True)
    for p in packages:
        deb = apt.download(p["package"], p["version"], dest / "debs")
        got = sha256_file(deb)
        if got != p["sha256"]:
            raise CaptureError(f"{deb.name}: sha256 {got} does not match the pinned "
                               f"{p['sha256']}")
        _run(["dpkg-deb", "-x", str(deb), str(unpacked)], f"dpkg-deb -x {deb.name}")
        deb.unlink()  # keep the cache small: the unpacked tree is what we use
    return _index(name, release, dest, packages, fell_back, spec)


def _modules_base(unpacked: Path, release: str) -> Path:
    """The depmod base (``-b``): bookworm ships /lib/modules, trixie and sid /usr/lib/modules."""
    for base in (unpacked / "usr", unpacked):
        if (base / "lib" / "modules" / release).is_dir():
            return base
    raise CaptureError(f"kernel {release}: no lib/modules/{release} in {unpacked}")


def _find(unpacked: Path, release: str, stem: str) -> Path | None:
    for cand in (unpacked / "boot" / f"{stem}-{release}",
                 unpacked / "usr" / "lib" / "modules" / release / stem,
                 unpacked / "lib" / "modules" / release / stem):
        if cand.exists():
            return cand
    return None


def _index(name: str, release: str, dest: Path, packages: list[dict[str, str]],
           fell_back: bool, spec: dict[str, Any]) -> KernelImage:
    unpacked = dest / "root"
    base = _modules_base(unpacked, release)
    _run(["depmod", "-b", str(base), release], f"depmod -b {base} {release}")
    vmlinuz = _find(unpacked, release, "vmlinuz")
    if vmlinuz is None:
        raise CaptureError(f"kernel {release}: no vmlinuz in the unpacked packages")
    mods_dir = dest / "modules"
    mods_dir.mkdir(exist_ok=True)
    order: list[str] = []
    builtin: list[str] = []
    for mod in spec["modules"]:
        out = _run(["modprobe", "-d", str(base), "-S", release, "--show-depends", mod],
                   f"modprobe --show-depends {mod} ({release})")
        for line in out.stdout.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "builtin":
                builtin.append(rest.split()[0])
            elif kind == "insmod":
                src = Path(rest.split()[0])
                stem = src.name.split(".ko")[0]
                if stem in order:
                    continue
                target = mods_dir / f"{stem}.ko"
                _decompress(src, target)
                order.append(stem)
    manifest = {
        "name": name,
        "release": release,
        "module_spec": list(spec["modules"]),
        "vmlinuz": str(vmlinuz.relative_to(dest)),
        "modules": [f"modules/{m}.ko" for m in order],
        "builtin_modules": sorted(set(builtin)),
        "system_map": _rel(_find(unpacked, release, "System.map"), dest),
        "config": _rel(_find(unpacked, release, "config"), dest),
        "provenance": {"packages": packages, "fell_back": fell_back,
                       "pinned_release": spec["release"], "suite": spec["suite"]},
    }
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.rename(dest / MANIFEST)
    return _load_manifest(name, dest)


def _rel(p: Path | None, dest: Path) -> str | None:
    return str(p.relative_to(dest)) if p else None


def _decompress(src: Path, target: Path) -> None:
    """Copy a module, decompressing .ko.xz/.ko.zst (busybox insmod takes plain .ko)."""
    if src.suffix == ".xz":
        target.write_bytes(lzma.decompress(src.read_bytes()))
    elif src.suffix == ".zst":
        _run(["zstd", "-qdf", str(src), "-o", str(target)], f"zstd -d {src.name}")
    else:
        shutil.copyfile(src, target)


def _current_index(name: str, spec: dict[str, Any], dest: Path) -> KernelImage:
    """An unpacked kernel, re-indexed if versions.toml now asks for other modules."""
    m = json.loads((dest / MANIFEST).read_text())
    if m.get("module_spec") == list(spec["modules"]):
        return _load_manifest(name, dest)
    with _locked(dest.parent / ".lock-index"):
        prov = m["provenance"]
        return _index(name, m["release"], dest, prov["packages"], prov["fell_back"], spec)


def _load_manifest(name: str, dest: Path) -> KernelImage:
    m = json.loads((dest / MANIFEST).read_text())

    def path(rel: str | None) -> Path | None:
        return dest / rel if rel else None

    return KernelImage(
        name=name,
        release=m["release"],
        vmlinuz=dest / m["vmlinuz"],
        modules=tuple(dest / p for p in m["modules"]),
        system_map=path(m.get("system_map")),
        config=path(m.get("config")),
        builtin_modules=tuple(m.get("builtin_modules", [])),
        provenance=m["provenance"],
    )

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
import json
import lzma
import re
import shutil
import sys
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from swaplab.capture.host import (  # noqa: F401 - CaptureError, KernelImage re-exported
    AptClient,
    CaptureError,
    KernelImage,
    cache_dir,
    run_command,
    sha256_file,
    version_key,
)
from swaplab.capture.kbuild import resolve_built_kernel
from swaplab.paths import KERNELS

__all__ = [
    "CaptureError",
    "KernelImage",
    "KernelFallbackWarning",
    "cache_dir",
    "debian_kernel_names",
    "kernels_dir",
    "resolve_kernel",
]

KERNELS_DIR = KERNELS
MANIFEST = "kernel.json"  # written last: its presence marks a complete unpacked kernel


class KernelFallbackWarning(UserWarning):
    """A pinned kernel package is gone from the archive; a newer one of the series is used."""


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


def _plan(name: str, spec: dict[str, Any], apt: AptClient
          ) -> tuple[str, list[dict[str, str]], bool]:
    """(release, [{package, version, sha256}], fell_back) for the pinned or newest kernel."""
    pins = spec["pin"]
    if all(apt.show(p["package"], p["version"]) for p in pins):
        return spec["release"], [dict(p) for p in pins], False
    candidates = []
    for pkg in apt.names(spec["fallback"]):
        m = re.match(spec["fallback"], pkg)
        rec = apt.show(pkg)
        if m and rec:
            candidates.append((version_key(rec["Version"]), m.group("release")))
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
    apt = AptClient(cache_dir() / "apt")
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
        run_command(["dpkg-deb", "-x", str(deb), str(unpacked)], f"dpkg-deb -x {deb.name}")
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
    run_command(["depmod", "-b", str(base), release], f"depmod -b {base} {release}")
    vmlinuz = _find(unpacked, release, "vmlinuz")
    if vmlinuz is None:
        raise CaptureError(f"kernel {release}: no vmlinuz in the unpacked packages")
    mods_dir = dest / "modules"
    mods_dir.mkdir(exist_ok=True)
    order: list[str] = []
    builtin: list[str] = []
    for mod in spec["modules"]:
        out = run_command(["modprobe", "-d", str(base), "-S", release, "--show-depends", mod],
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
        run_command(["zstd", "-qdf", str(src), "-o", str(target)], f"zstd -d {src.name}")
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

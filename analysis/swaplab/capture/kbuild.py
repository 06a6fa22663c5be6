"""Build patched kernels from Debian's kernel source: policies on real kernels.

A built kernel is named ``<base>+<patch>[+debug]``: ``6.1+hugh-scan`` is Debian's
linux-source-6.1 with ``kernels/patches/6.1/hugh-scan.patch``; ``6.1+none`` is the same source
unpatched; ``+debug`` adds ``kernels/configs/debug.config`` (lockdep, DEBUG_VM).

Pipeline (:func:`build_kernel`): ``apt-get download`` the pinned source package
(``kernels/configs/sources.toml``, sha256 checked), unpack the tarball once, copy the tree,
``patch --dry-run`` then apply, ``make tinyconfig`` + ``merge_config.sh`` of the fragments +
``make olddefconfig``, check that every fragment line stuck, ``make bzImage`` with ccache.
Builds are cached by (source version, config hash, patch hash) under
``$SWAPLAB_CACHE/kbuild`` (default ``~/.cache/swaplab/kbuild``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from swaplab.capture.host import (
    AptClient,
    KernelImage,
    cache_dir,
    last_error_line,
    run_command,
    sha256_file,
)
from swaplab.errors import SwaplabError
from swaplab.paths import KERNELS, ROOT

__all__ = [
    "KbuildError",
    "KernelSpec",
    "BuiltKernel",
    "parse_kernel_name",
    "build_kernel",
    "list_built_kernels",
    "find_built_kernel",
    "resolve_built_kernel",
    "check_patch_applies",
    "check_config",
    "configure",
    "policy_counters",
]

KERNELS_DIR = KERNELS
CONFIGS_DIR = KERNELS_DIR / "configs"
PATCHES_DIR = KERNELS_DIR / "patches"
ARCH = "x86_64"
NO_PATCH = "none"
DEBUG_SUFFIX = "debug"
# Fixed build identity: the same inputs give the same `uname -v` on every machine.
BUILD_ENV = {"KBUILD_BUILD_USER": "swaplab", "KBUILD_BUILD_HOST": "swaplab"}


class KbuildError(SwaplabError):
    """A kernel build step failed or its inputs are wrong; the message says which and why."""


# ----------------------------------------------------------------------------- names and inputs

@dataclasses.dataclass(frozen=True)
class KernelSpec:
    """What to build: a pinned source base, an optional patch, the debug fragment or not."""

    base: str
    patch: str | None = None
    debug: bool = False

    @property
    def name(self) -> str:
        """The kernel name users pass to ``--kernel``, e.g. ``6.1+hugh-scan+debug``."""
        parts = [self.base, self.patch or NO_PATCH]
        if self.debug:
            parts.append(DEBUG_SUFFIX)
        return "+".join(parts)

    @property
    def localversion(self) -> str:
        """Suffix of the kernel release (``uname -r``): ``-swaplab-hugh-scan-debug-<key hash>``.

        The hash of the build key makes the release change with the patch or the fragments,
        so nothing keyed by release (capture caches, trace manifests) mixes two builds.
        """
        short = hashlib.sha256(build_key(self).encode()).hexdigest()[:8]
        return "-swaplab-" + self.name.split("+", 1)[1].replace("+", "-") + "-" + short


def sources() -> dict[str, dict[str, Any]]:
    """The pinned kernel sources, ``kernels/configs/sources.toml``, keyed by base."""
    path = CONFIGS_DIR / "sources.toml"
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def available_patches(base: str) -> list[str]:
    """Patch names for ``base`` (``kernels/patches/<base>/<name>.patch``)."""
    return sorted(p.stem for p in (PATCHES_DIR / base).glob("*.patch"))


def parse_kernel_name(name: str) -> KernelSpec:
    """Parse ``<base>+<patch|none>[+debug]``; raise :class:`KbuildError` naming what is allowed."""
    parts = name.split("+")
    bases = sorted(sources())
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != DEBUG_SUFFIX):
        raise KbuildError(f"built kernel name {name!r} must be <base>+<patch|none>[+debug], "
                          f"e.g. 6.1+hugh-scan or 6.1+none+debug")
    base, patch = parts[0], parts[1]
    if base not in bases:
        raise KbuildError(f"kernel {name!r}: unknown source base {base!r}; "
                          f"allowed: {', '.join(bases)}")
    return make_spec(base, None if patch == NO_PATCH else patch, len(parts) == 3)


def make_spec(base: str, patch: str | None, debug: bool) -> KernelSpec:
    """A checked :class:`KernelSpec` (the base is pinned, the patch file exists)."""
    bases = sorted(sources())
    if base not in bases:
        raise KbuildError(f"unknown source base {base!r}; allowed: {', '.join(bases)}")
    if patch is not None and patch != NO_PATCH:
        allowed = available_patches(base)
        if patch not in allowed:
            raise KbuildError(f"no patch {patch!r} for {base} in {PATCHES_DIR / base}; "
                              f"allowed: {', '.join(allowed + [NO_PATCH])}")
    else:
        patch = None
    return KernelSpec(base, patch, debug)


def patch_path(spec: KernelSpec) -> Path | None:
    """The patch file of ``spec`` (None when unpatched)."""
    return PATCHES_DIR / spec.base / f"{spec.patch}.patch" if spec.patch else None


def fragment_paths(spec: KernelSpec) -> list[Path]:
    """Config fragments merged on top of tinyconfig, in order."""
    frags = [CONFIGS_DIR / "base.config"]
    if spec.debug:
        frags.append(CONFIGS_DIR / "debug.config")
    return frags


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def config_hash(spec: KernelSpec) -> str:
    """sha256 over the fragments (names and contents) and the base config recipe."""
    h = hashlib.sha256(f"tinyconfig ARCH={ARCH}\n".encode())
    for frag in fragment_paths(spec):
        h.update(f"--- {frag.name}\n".encode())
        h.update(frag.read_bytes())
    return h.hexdigest()


def patch_hash(spec: KernelSpec) -> str:
    """sha256 of the patch file, or ``none``."""
    path = patch_path(spec)
    return _sha256_bytes(path.read_bytes()) if path else NO_PATCH


def build_key(spec: KernelSpec) -> str:
    """Cache key: (source version, config hash, patch hash)."""
    src = sources()[spec.base]
    return f"{src['version']}-c{config_hash(spec)[:12]}-p{patch_hash(spec)[:12]}"


# ----------------------------------------------------------------------------- cache layout

def cache_root() -> Path:
    """``$SWAPLAB_CACHE/kbuild`` or ``~/.cache/swaplab/kbuild``."""
    return cache_dir() / "kbuild"


def build_dir(spec: KernelSpec) -> Path:
    """Directory of one build: ``builds/<name>/<key>``."""
    return cache_root() / "builds" / spec.name / build_key(spec)


# ----------------------------------------------------------------------------- progress + commands

class Progress:
    """One-line progress messages on stderr, prefixed with the kernel name and elapsed time."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label, self.quiet, self.t0 = label, quiet, time.monotonic()

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            dt = time.monotonic() - self.t0
            print(f"[kbuild {self.label} {dt:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- source package

def fetch_source(base: str, progress: Progress) -> Path:
    """The pinned source ``.deb`` in the cache (downloaded and sha256-checked if missing)."""
    src = sources()[base]
    dest_dir = cache_root() / "src"
    dest_dir.mkdir(parents=True, exist_ok=True)
    deb = dest_dir / f"{src['package']}_{src['version']}_all.deb"
    if deb.exists() and sha256_file(deb) == src["sha256"]:
        return deb
    progress(f"downloading {src['package']}={src['version']} (apt-get download)")
    pkg = f"{src['package']}={src['version']}"
    with tempfile.TemporaryDirectory(dir=dest_dir) as tmp:
        try:
            run_command(["apt-get", "download", "-q", pkg], "apt-get download", cwd=Path(tmp),
                        error=KbuildError)
        except KbuildError:
            progress("host apt lists lack it; using a private sources list")
            AptClient(cache_root() / "apt", src["apt_sources"], error=KbuildError).download(
                src["package"], src["version"], Path(tmp))
        got = list(Path(tmp).glob("*.deb"))
        if len(got) != 1:
            raise KbuildError(f"apt-get download {pkg} produced {len(got)} .deb files")
        digest = sha256_file(got[0])
        if digest != src["sha256"]:
            raise KbuildError(f"{got[0].name}: sha256 {digest} does not match the pin "
                              f"{src['sha256']} in {CONFIGS_DIR / 'sources.toml'}")
        os.replace(got[0], deb)
    return deb


def source_tarball(base: str, progress: Progress) -> Path:
    """The kernel source tarball extracted from the pinned ``.deb`` (cached)."""
    src = sources()[base]
    tarball = cache_root() / "src" / f"{src['package']}_{src['version']}.tar.xz"
    if tarball.exists():
        return tarball
    deb = fetch_source(base, progress)
    progress(f"extracting {src['tarball']} from {deb.name}")
    tmp = tarball.with_suffix(".part")
    with open(tmp, "wb") as out:
        dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-xO", f"./{src['tarball']}"], stdin=dpkg.stdout,
                             stdout=out, stderr=subprocess.PIPE, text=True)
        dpkg.wait()
    if dpkg.returncode or tar.returncode:
        tmp.unlink(missing_ok=True)
        raise KbuildError(f"cannot extract {src['tarball']} from {deb}: "
                          f"{last_error_line(tar.stderr)}")
    os.replace(tmp, tarball)
    return tarball


def pristine_tree(base: str, progress: Progress) -> Path:
    """The unpacked, unmodified source tree (cached; never built in)."""
    src = sources()[base]
    tree = cache_root() / "src" / f"{src['package']}_{src['version']}"
    if (tree / "Makefile").exists():
        return tree
    tarball = source_tarball(base, progress)
    progress(f"unpacking {tarball.name}")
    tmp = Path(tempfile.mkdtemp(dir=tree.parent, prefix=".unpack-"))
    try:
        run_command(["tar", "-xJf", str(tarball), "--strip-components=1", "-C", str(tmp)],
                    f"unpacking {tarball.name}", error=KbuildError)
        shutil.rmtree(tree, ignore_errors=True)
        os.replace(tmp, tree)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tree


def patched_files(patch: Path) -> list[str]:
    """Paths (relative to the tree root, ``-p1``) that a unified diff touches."""
    files = []
    for line in patch.read_text().splitlines():
        m = re.match(r"^\+\+\+ b/(\S+)", line)
        if m and m.group(1) not in files:
            files.append(m.group(1))
    if not files:
        raise KbuildError(f"{patch}: no '+++ b/<path>' lines; not a -p1 unified diff")
    return files


def check_patch_applies(patch: Path, tree: Path) -> None:
    """``patch --dry-run -p1`` of ``patch`` in ``tree``; a one-line error if it does not apply."""
    proc = subprocess.run(["patch", "-p1", "--dry-run", "--batch", "--forward", "-d", str(tree),
                           "-i", str(patch)], capture_output=True, text=True)
    if proc.returncode != 0:
        out = proc.stdout + proc.stderr
        current, failed = "?", []
        for line in out.splitlines():
            m = re.match(r"^(?:checking|patching) file (\S+)", line)
            if m:
                current = m.group(1)
            elif m := re.match(r"^Hunk #(\d+) FAILED at (\d+)", line):
                failed.append(f"{current} hunk #{m.group(1)} (line {m.group(2)})")
            elif re.search(r"can't find|No such file|Reversed|malformed", line):
                failed.append(f"{current}: {line.strip()}")
        detail = ", ".join(dict.fromkeys(failed)) or last_error_line(out)
        raise KbuildError(f"patch {patch.name} does not apply to {tree.name}: failed "
                          f"{detail[:300]}; rebase it on the pinned source "
                          f"(kernels/configs/sources.toml)")


def extract_files(tarball: Path, files: list[str], dest: Path) -> None:
    """Extract just ``files`` (tree-relative) from the source tarball into ``dest``."""
    top = _tar_top(tarball)
    run_command(["tar", "-xJf", str(tarball), "-C", str(dest), "--strip-components=1",
                 *[f"{top}/{f}" for f in files]],
                f"extracting {len(files)} files from {tarball.name}", error=KbuildError)


def _tar_top(tarball: Path) -> str:
    """Top directory name inside a source tarball (``linux-source-6.1``)."""
    name = tarball.name.split("_")[0]
    return name


# ----------------------------------------------------------------------------- configuration

def fragment_options(frag: Path) -> dict[str, str | None]:
    """``CONFIG_X -> value`` from a fragment; ``None`` for ``# CONFIG_X is not set``."""
    opts: dict[str, str | None] = {}
    for n, raw in enumerate(frag.read_text().splitlines(), 1):
        line = raw.split(" #")[0].strip() if not raw.startswith("#") else raw.strip()
        if not line:
            continue
        m = re.match(r"^# (CONFIG_\w+) is not set$", line)
        if m:
            opts[m.group(1)] = None
            continue
        if line.startswith("#"):
            continue
        m = re.match(r"^(CONFIG_\w+)=(.+)$", line)
        if not m:
            raise KbuildError(f"{frag}:{n}: not a config line (CONFIG_X=value or "
                              f"'# CONFIG_X is not set'): {raw.strip()!r}")
        opts[m.group(1)] = m.group(2)
    return opts


def check_config(dotconfig: Path, frags: list[Path]) -> None:
    """Every fragment line must hold in the final ``.config``; else raise with the list."""
    final: dict[str, str] = {}
    for line in dotconfig.read_text().splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
        if m:
            final[m.group(1)] = m.group(2)
    wanted: dict[str, str | None] = {}
    for frag in frags:
        wanted.update(fragment_options(frag))
    bad = []
    for opt, value in wanted.items():
        got = final.get(opt)
        if value is None and got not in (None, "n"):
            bad.append(f"{opt} (want not set, got {got})")
        elif value is not None and got != value:
            bad.append(f"{opt} (want {value}, got {got or 'not set'})")
    if bad:
        raise KbuildError(f"{len(bad)} config option(s) did not survive olddefconfig "
                          f"(missing dependency?): {', '.join(bad)}")


def configure(tree: Path, frags: list[Path], outdir: Path | None = None,
              log: Path | None = None) -> Path:
    """tinyconfig + merge fragments + olddefconfig + check; return the ``.config`` path.

    ``outdir`` builds out of tree (``make O=``), leaving ``tree`` untouched.
    """
    make = ["make", "-C", str(tree), f"ARCH={ARCH}"]
    if outdir is not None:
        make.append(f"O={outdir}")
    obj = outdir if outdir is not None else tree
    run_command([*make, "tinyconfig"], "make tinyconfig", log=log, error=KbuildError)
    run_command(["scripts/kconfig/merge_config.sh", "-m", "-O", str(obj), str(obj / ".config"),
                 *[str(f) for f in frags]], "merge_config.sh", cwd=tree, log=log,
                env={"ARCH": ARCH}, error=KbuildError)
    run_command([*make, "olddefconfig"], "make olddefconfig", log=log, error=KbuildError)
    check_config(obj / ".config", frags)
    return obj / ".config"


# ----------------------------------------------------------------------------- build

@dataclasses.dataclass(frozen=True)
class BuiltKernel:
    """A finished build in the cache."""

    name: str
    release: str
    directory: Path
    bzimage: Path
    system_map: Path
    config: Path
    info: dict[str, Any]


def _load_built(directory: Path) -> BuiltKernel | None:
    info_path = directory / "build.json"
    if not info_path.exists():
        return None
    info = json.loads(info_path.read_text())
    return BuiltKernel(name=info["name"], release=info["release"], directory=directory,
                       bzimage=directory / "bzImage", system_map=directory / "System.map",
                       config=directory / "config", info=info)


def find_built_kernel(spec: KernelSpec) -> BuiltKernel | None:
    """The cached build of ``spec`` for the current fragments and patch, if any."""
    return _load_built(build_dir(spec))


def list_built_kernels() -> list[BuiltKernel]:
    """Every finished build in the cache (current or stale inputs), sorted by name."""
    root = cache_root() / "builds"
    found = [b for d in sorted(root.glob("*/*")) if (b := _load_built(d))]
    return sorted(found, key=lambda b: (b.name, b.info.get("built_utc", "")))


def _compiler_version() -> str:
    try:
        out = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return "unknown"
    return out.splitlines()[0] if out else "unknown"


def _make_bzimage(tree: Path, jobs: int, env: dict[str, str], log: Path,
                  progress: Progress) -> None:
    """``make -j N bzImage`` with ccache, streaming a progress line every ~15 s."""
    cmd = ["nice", "-n", "10", "make", "-C", str(tree), f"ARCH={ARCH}", f"-j{jobs}",
           "CC=ccache gcc", f"LOCALVERSION={env['LOCALVERSION']}", "bzImage"]
    full_env = {**os.environ, **env}
    n_obj, last = 0, time.monotonic()
    tail: list[str] = []
    with open(log, "a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            tail = (tail + [line.rstrip()])[-40:]
            if line.lstrip().startswith(("CC ", "AS ", "LD ", "AR ")):
                n_obj += 1
            if time.monotonic() - last > 15:
                progress(f"make bzImage: {n_obj} objects so far")
                last = time.monotonic()
        rc = proc.wait()
    if rc != 0:
        raise KbuildError(f"make bzImage failed (exit {rc}): {last_error_line(chr(10).join(tail))} "
                          f"(log: {log})")
    progress(f"make bzImage: done, {n_obj} objects")


def build_kernel(spec: KernelSpec, jobs: int | None = None, force: bool = False,
                 quiet: bool = False) -> BuiltKernel:
    """Build ``spec`` (or return the cached build); see the module docstring for the steps."""
    progress = Progress(spec.name, quiet)
    out = build_dir(spec)
    if not force and (done := find_built_kernel(spec)):
        progress(f"cached: {done.bzimage}")
        return done
    src = sources()[spec.base]
    pristine = pristine_tree(spec.base, progress)
    patch = patch_path(spec)
    if patch:  # fail fast, before copying 1.5 GB
        check_patch_applies(patch, pristine)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tree, log = out / "linux", out / "build.log"
    t0 = time.monotonic()
    progress(f"copying source tree to {tree}")
    run_command(["cp", "-a", "--reflink=auto", str(pristine), str(tree)],
                "copying the source tree", error=KbuildError)
    if patch:
        progress(f"applying {patch.relative_to(ROOT)}")
        run_command(["patch", "-p1", "--batch", "--forward", "-d", str(tree), "-i", str(patch)],
                    f"applying {patch.name}", log=log, error=KbuildError)
    progress("configuring: tinyconfig + " + " + ".join(f.name for f in fragment_paths(spec))
             + " + olddefconfig")
    dotconfig = configure(tree, fragment_paths(spec), log=log)
    env = {**BUILD_ENV, "LOCALVERSION": spec.localversion,
           "CCACHE_DIR": str(cache_root() / "ccache"), "CCACHE_BASEDIR": str(cache_root()),
           "CCACHE_COMPILERCHECK": "content"}
    jobs = jobs or os.cpu_count() or 1
    progress(f"make -j{jobs} bzImage (CC='ccache gcc', nice 10); a cold build takes ~5 min "
             f"on 2 cores")
    _make_bzimage(tree, jobs, env, log, progress)
    release = run_command(["make", "-s", "-C", str(tree), f"ARCH={ARCH}",
                           f"LOCALVERSION={spec.localversion}", "kernelrelease"],
                          "make kernelrelease", error=KbuildError).stdout.strip().splitlines()[-1]
    shutil.copy2(tree / "arch" / "x86" / "boot" / "bzImage", out / "bzImage")
    shutil.copy2(tree / "System.map", out / "System.map")
    shutil.copy2(dotconfig, out / "config")
    info = {
        "name": spec.name,
        "release": release,
        "base": spec.base,
        "source_package": src["package"],
        "source_version": src["version"],
        "source_sha256": src["sha256"],
        "patch": spec.patch or NO_PATCH,
        "patch_sha256": patch_hash(spec),
        "config_hash": config_hash(spec),
        "config_fragments": [f.name for f in fragment_paths(spec)],
        "dotconfig_sha256": sha256_file(dotconfig),
        "bzimage_sha256": sha256_file(out / "bzImage"),
        "compiler": _compiler_version(),
        "build_seconds": round(time.monotonic() - t0, 1),
        "built_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "key": build_key(spec),
    }
    tmp = out / "build.json.part"
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out / "build.json")
    progress(f"built {release}: {out / 'bzImage'} in {info['build_seconds']} s")
    return _load_built(out)  # type: ignore[return-value]


def remove_tree(built: BuiltKernel) -> None:
    """Drop the source/object tree of a build, keeping bzImage, System.map and config."""
    shutil.rmtree(built.directory / "linux", ignore_errors=True)


# ----------------------------------------------------------------------------- capture interface

def provenance(built: BuiltKernel) -> dict[str, Any]:
    """Provenance of a built kernel for dataset attrs."""
    keys = ("source_package", "source_version", "source_sha256", "patch", "patch_sha256",
            "config_hash", "dotconfig_sha256", "bzimage_sha256", "compiler", "built_utc")
    info = built.info
    patch = f" + {info['patch']}.patch" if info["patch"] != NO_PATCH else ""
    return {
        "kernel_build": built.name,
        # read by KernelImage.package_attr / sha256_attr (dataset kernel_package[_sha256])
        "source": f"{info['source_package']}={info['source_version']}{patch}",
        # source .deb sha256, then the patch's ("none" unpatched), as for package lists
        "sha256": f"{info['source_sha256']} {info['patch_sha256']}",
        "build_hash": info["key"],
        **{k: info[k] for k in keys},
    }


def resolve_built_kernel(name: str) -> Any:
    """The :class:`swaplab.capture.kernels.KernelImage` of a built kernel such as ``6.1+none``.

    Raises a one-line :class:`KbuildError` with the build command when it is not built for the
    current config fragments and patch.
    """
    spec = parse_kernel_name(name)
    built = find_built_kernel(spec)
    if built is None:
        cmd = f"swaplab kernel build --base {spec.base}"
        if spec.patch:
            cmd += f" --patch {spec.patch}"
        if spec.debug:
            cmd += " --debug"
        raise KbuildError(f"kernel {name!r} is not built for the current config and patch; "
                          f"run `{cmd}` (about 5 min)")
    return KernelImage(name=built.name, release=built.release, vmlinuz=built.bzimage,
                       modules=(), system_map=built.system_map, config=built.config,
                       provenance=provenance(built))


@dataclasses.dataclass(frozen=True)
class Counter:
    """A counter or knob a patch exports to the guest (one line of ``<patch>.counters``)."""

    name: str
    path: str
    kind: str  # "counter" | "knob"
    units: str
    doc: str


def policy_counters(name: str) -> list[Counter]:
    """Files the guest sampler should read for a built kernel (empty when unpatched)."""
    spec = parse_kernel_name(name)
    if not spec.patch:
        return []
    path = PATCHES_DIR / spec.base / f"{spec.patch}.counters"
    if not path.exists():
        return []
    return list(_read_counters(path))


def _read_counters(path: Path) -> Iterator[Counter]:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(None, 4)
        if len(fields) != 5 or fields[2] not in ("counter", "knob"):
            raise KbuildError(f"{path}:{n}: want '<name> <path> counter|knob <units> <doc>'")
        yield Counter(*fields)


# ----------------------------------------------------------------------------- results

SCAN_COUNTERS = ("scans", "slots_scanned", "candidates", "writeback", "lock_fail", "freed",
                 "writeback_waits", "time_ns")


def policy_summary(ds: Any) -> Any:
    """One row per repeat of a kernel capture: OOMs, orphans, and the policy's scan counters.

    ``orphans_before``: orphans (pages) when the previous process exited, just before the last
    process starts (NaN for one-process scenarios); ``scan_*`` are the swap_orphan_scan
    counters over the whole run (NaN on kernels without the patch), ``last_*`` the same over
    the last process only.
    """
    import numpy as np
    import pandas as pd

    names = [str(n) for n in ds["phase_name"].values]
    last = len(names) - 1
    procs = [n.split(":")[0] for n in names]
    first_of_last = procs.index(procs[-1])
    before = first_of_last - 1 if first_of_last > 0 else None
    repeats = ds["repeat"].values if "repeat" in ds.dims else [0]
    rows = []
    for r in repeats:
        sel = ds.sel(repeat=r) if "repeat" in ds.dims else ds

        def end(var: str, phase: int | None, sel=sel) -> float:
            name = f"{var}_end"
            if phase is None or name not in sel:
                return float("nan")
            return float(sel[name].isel(phase=phase))

        row = {
            "scenario": ds.attrs.get("scenario_name"),
            "kernel": ds.attrs.get("kernel_release"),
            "repeat": int(r),
            "memcg_oom": end("memcg_oom", last),
            "memcg_oom_kill": end("memcg_oom_kill", last),
            "oom_kill": end("oom_kill", last),
            "orphans_before": end("swap_orphans", before),
            "orphans_after": end("swap_orphans", last),
            "swapcached_before": end("memcg_swapcached", before),
            "swapcached_after": end("memcg_swapcached", last),
        }
        for c in SCAN_COUNTERS:
            var = f"extra_swap_orphan_scan_{c}"
            total = end(var, last)
            row[f"scan_{c}"] = total
            row[f"last_{c}"] = total - end(var, before) if before is not None else total
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.replace({np.inf: np.nan})


# Lines a lockdep / DEBUG_VM / DEBUG_LIST / DEBUG_ATOMIC_SLEEP kernel prints when it catches a bug
# (an OOM report's stack dump is not one: it is matched by none of these).
SPLAT_PATTERNS = (
    r"WARNING: ", r"BUG: ", r"kernel BUG at", r"Oops", r"VM_BUG_ON", r"page dumped because",
    r"Bad page (state|map)", r"possible circular locking", r"possible recursive locking",
    r"inconsistent lock state", r"suspicious RCU usage", r"sleeping function called from invalid",
    r"DEBUG_LOCKS_WARN_ON", r"lockdep is turned off", r"list_(add|del) corruption",
    r"scheduling while atomic", r"hung_task|blocked for more than",
)


def dmesg_splats(text: str) -> list[str]:
    """Lines of a guest's dmesg that report a kernel bug (lockdep, DEBUG_VM, ...)."""
    pattern = re.compile("|".join(SPLAT_PATTERNS))
    return [line.strip() for line in text.splitlines() if pattern.search(line)]

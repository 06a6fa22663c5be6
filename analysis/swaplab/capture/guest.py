"""The guest: encode a scenario for ``swapwl``, and build the initramfs (cached by content hash).

The initramfs is two concatenated cpio archives: a base one per kernel (busybox-static,
``/init``, the static ``swapwl`` and ``sampler`` built from ``kernels/guest``, the kprobe set and
the kernel's modules), cached under ``<cache>/initramfs/<hash>.cpio.gz``, and a small per-run one
with ``/run.conf`` and ``/workload.txt``.  The kernel unpacks both.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from swaplab.capture.host import run_command
from swaplab.capture.kernels import KERNELS_DIR, CaptureError, KernelImage, _locked, cache_dir
from swaplab.scenario import MIB_PAGES, SETTABLE_KEYS, Phase, Scenario

__all__ = ["check_runnable", "encode_workload", "guest_name", "run_conf", "base_initramfs",
           "run_cpio", "GUEST_DIR"]

GUEST_DIR = KERNELS_DIR / "guest"
GUEST_SOURCES = ("init.sh", "swapwl.c", "sampler.c", "sample.h", "kprobes.txt")
CFLAGS = ["-O2", "-static", "-Wall", "-Wno-format-truncation", "-pthread"]
TRACE_MODES = ("none", "events", "kprobes")


# --------------------------------------------------------------------------------------------
# workload encoding (the line format swapwl.c reads)
# --------------------------------------------------------------------------------------------


def _limit_bytes(value: Any) -> str:
    """A memcg limit in MiB ('max' or a number) as the cgroup file wants it."""
    return "max" if value == "max" else str(int(round(float(value) * (1 << 20))))


def _region(value: str, names: dict[str, int]) -> str:
    return value if value in ("last", "all") else f"n{names[value]}"


def _encode_phase(ph: Phase, names: dict[str, int], out: list[str]) -> None:
    p = ph.params
    if ph.op == "alloc":
        nid = names.setdefault(p["name"], len(names)) if p["name"] else -1
        out.append(f"alloc {max(1, int(p['mib'] * MIB_PAGES))} {nid}")
    elif ph.op in ("touch", "readback"):
        out.append(f"{ph.op} {_region(p['region'], names)} {p['fraction']!r} {p['pattern']}")
    elif ph.op in ("pageout", "unmap"):
        out.append(f"{ph.op} {_region(p['region'], names)} {p['fraction']!r}")
    elif ph.op == "race_unmap":
        chunk_pages = max(1, p["chunk_kib"] // 4)
        out.append(f"race_unmap {_region(p['region'], names)} {chunk_pages} {p['rest']}"
                   + (" sequential" if p["reader"] == "sequential" else ""))
    elif ph.op == "fork_touch":
        out.append(f"fork_touch {_region(p['region'], names)} {p['children']} "
                   f"{p['fraction']!r}")
    elif ph.op == "sleep":
        out.append(f"sleep {float(p['seconds'])!r}")
    elif ph.op == "set":
        for key, value in p.items():
            out.append(f"set {SETTABLE_KEYS[key].cgroup_file} {_limit_bytes(value)}")
    elif ph.op == "repeat":
        out.append(f"repeat {p['times']}")
        for sub in ph.phases:
            _encode_phase(sub, names, out)
        out.append("end")
    else:  # pragma: no cover - scenario.OPS and this encoder must list the same ops
        raise CaptureError(f"op {ph.op!r} has no guest encoding")


def guest_name(name: str) -> str:
    """A process name as the guest writes it (whitespace -> '_', at most 60 characters)."""
    return re.sub(r"\s", "_", name)[:60]


def encode_workload(scn: Scenario) -> str:
    """The scenario's processes and phases in swapwl's line format.

    Snapshot indexes follow :meth:`Scenario.phase_labels` exactly: ``B i`` after each top-level
    phase, ``X i`` for the process exit.
    """
    out = ["swaplab-workload 1", f"seed {scn.seed}", f"thp {int(scn.machine['thp'])}"]
    idx = 0
    for proc in scn.processes:
        out.append(f"P {guest_name(proc.name)}")
        names: dict[str, int] = {}
        for ph in proc.phases:
            _encode_phase(ph, names, out)
            out.append(f"B {idx}")
            idx += 1
        out.append(f"X {idx}")
        idx += 1
    assert idx == len(scn.phase_labels())
    return "\n".join(out) + "\n"


def check_runnable(scn: Scenario) -> None:
    """Raise CaptureError if the guest cannot run ``scn`` as written.

    The workload writes incompressible data, so a zram device must fit in guest RAM next to the
    kernel and the workload; every op must have a guest encoding.
    """
    m, sw = scn.machine, scn.swap
    if sw["device"] == "zram" and sw["size_mib"] > m["ram_mib"] - 96:
        raise CaptureError(
            f"{scn.source}: swap.size_mib {sw['size_mib']} on zram cannot hold the workload's "
            f"incompressible pages in {m['ram_mib']} MiB of guest RAM; allowed: zram size <= "
            f"machine.ram_mib - 96 = {m['ram_mib'] - 96}")
    if sw["device"] == "zram" and (sw["write_mib_s"] > 0 or sw["read_mib_s"] > 0):
        raise CaptureError(f"{scn.source}: swap.write_mib_s/read_mib_s throttle a disk; zram "
                           "cannot be throttled (allowed: 0 with device = 'zram')")
    encode_workload(scn)


def run_conf(scn: Scenario, trace: str, sample_ms: int, extra_files: list[str]) -> str:
    """``/run.conf``: shell assignments /init sources (all values validated on the host)."""
    if trace not in TRACE_MODES:
        raise CaptureError(f"--trace {trace!r}: allowed: {', '.join(TRACE_MODES)}")
    m, sw, cg = scn.machine, scn.swap, scn.memcg
    for f in extra_files:
        if not all(c.isalnum() or c in "/_.-*?[]" for c in f):
            raise CaptureError(f"extra sampler file {f!r}: only letters, digits and /_.-*?[] "
                               "are allowed")
    conf = {
        "PAGE_CLUSTER": m["page_cluster"],
        "VMA_RA": "true" if m["vma_readahead"] else "false",
        "MGLRU": "y" if m["mglru"] else "n",
        "THP": "always" if m["thp"] else "never",
        "SWAPPINESS": m["swappiness"],
        "SWAP_DEVICE": sw["device"],
        "SWAP_BYTES": sw["size_mib"] << 20,
        "MEMORY_MAX": _limit_bytes(cg["memory_max_mib"]),
        "SWAP_MAX": _limit_bytes(cg["swap_max_mib"]),
        "SWAP_HIGH": _limit_bytes(cg["swap_high_mib"]),
        "TRACE": trace,
        "TRACE_BUF_KB": 16384,
        "SAMPLE_MS": sample_ms,
        "EXTRA_FILES": " ".join(extra_files),
    }
    return "".join(f"{k}='{v}'\n" for k, v in conf.items())


# --------------------------------------------------------------------------------------------
# cpio archives
# --------------------------------------------------------------------------------------------


def _newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A cpio newc archive of (path, mode, data) entries (directories: mode 0o40755, no data)."""
    buf = io.BytesIO()

    def pad(n: int) -> None:
        buf.write(b"\0" * ((4 - n % 4) % 4))

    for ino, (path, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        name = path.encode() + b"\0"
        hdr = ("070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))).encode()
        buf.write(hdr + name)
        pad(len(hdr) + len(name))
        buf.write(data)
        pad(len(data))
    return buf.getvalue()


def run_cpio(files: dict[str, str]) -> bytes:
    """The per-run archive (uncompressed): small text files at the root."""
    return _newc([(name, 0o100644, text.encode()) for name, text in sorted(files.items())])


def _compile(src: str, out: Path) -> None:
    run_command(["gcc", *CFLAGS, "-o", str(out), str(GUEST_DIR / src)],
                f"building guest {src} (gcc, libc6-dev)")


def _busybox() -> Path:
    for cand in ("/bin/busybox", "/usr/bin/busybox"):
        p = Path(cand)
        if p.exists():
            with open(p, "rb") as f:
                head = f.read(8192)
            if b"/ld-linux" not in head:  # no PT_INTERP: statically linked
                return p
    raise CaptureError("no static busybox: run `make sysdeps` (package busybox-static)")


def guest_hash() -> str:
    """Hash of the guest sources (part of the run cache key: a changed guest runs again)."""
    h = hashlib.sha256()
    for name in GUEST_SOURCES:
        h.update(name.encode() + b"\0" + (GUEST_DIR / name).read_bytes())
    return h.hexdigest()[:10]


def base_initramfs(kernel: KernelImage) -> Path:
    """The cached base initramfs for ``kernel`` (built when its content hash is new)."""
    h = hashlib.sha256()
    for name in GUEST_SOURCES:
        h.update(name.encode() + b"\0" + (GUEST_DIR / name).read_bytes())
    busybox = _busybox()
    h.update(busybox.read_bytes())
    for mod in kernel.modules:
        h.update(mod.name.encode() + b"\0" + mod.read_bytes())
    digest = h.hexdigest()[:20]
    target = cache_dir() / "initramfs" / f"{digest}.cpio.gz"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / ".lock"):
        if not target.exists():
            _build(target, busybox, kernel)
    return target


def _build(target: Path, busybox: Path, kernel: KernelImage) -> None:
    with tempfile.TemporaryDirectory(prefix="swaplab-guest-") as tmp:
        t = Path(tmp)
        _compile("swapwl.c", t / "swapwl")
        _compile("sampler.c", t / "sampler")
        entries: list[tuple[str, int, bytes]] = [
            (d, 0o40755, b"") for d in ("bin", "sbin", "proc", "sys", "dev", "tmp", "out",
                                        "modules")]
        entries += [
            ("bin/busybox", 0o100755, busybox.read_bytes()),
            ("init", 0o100755, (GUEST_DIR / "init.sh").read_bytes()),
            ("swapwl", 0o100755, (t / "swapwl").read_bytes()),
            ("sampler", 0o100755, (t / "sampler").read_bytes()),
            ("kprobes.txt", 0o100644, (GUEST_DIR / "kprobes.txt").read_bytes()),
            ("modules/order", 0o100644,
             "".join(m.name.removesuffix(".ko") + "\n" for m in kernel.modules).encode()),
        ]
        entries += [(f"modules/{m.name}", 0o100644, m.read_bytes()) for m in kernel.modules]
        part = target.with_suffix(".part")
        with gzip.open(part, "wb", compresslevel=6) as f:
            f.write(_newc(entries))
        part.rename(target)


def initramfs_for_run(kernel: KernelImage, files: dict[str, str], dest: Path) -> Path:
    """Base archive + per-run archive concatenated into ``dest``."""
    base = base_initramfs(kernel)
    with open(dest, "wb") as out:
        with open(base, "rb") as f:
            shutil.copyfileobj(f, out)
        out.write(gzip.compress(run_cpio(files), compresslevel=1))
    return dest

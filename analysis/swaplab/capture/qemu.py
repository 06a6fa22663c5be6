"""One QEMU run of a scenario on a kernel: boot, run the guest, collect the raw output.

A raw run folder holds ``console.log``, ``trace.txt`` (the ftrace stream, when traced),
``out/`` (the guest's files, untarred from the second disk) and ``run.json`` (command line,
QEMU version, wall time, outcome).  :func:`check_raw` turns every way a run can go wrong
(panic, hung guest, missing module, no output) into a one-line :class:`CaptureError`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from swaplab.capture.guest import encode_workload, initramfs_for_run, run_conf
from swaplab.capture.kernels import CaptureError, KernelImage
from swaplab.scenario import Scenario

__all__ = ["run_guest", "check_raw", "qemu_version", "default_timeout"]

QEMU = "qemu-system-x86_64"
OUT_DISK_MIB = 64
# counters of patched kernels, read by the sampler when present (kernels/patches/*/*.counters)
DEFAULT_EXTRA_FILES = ["/sys/module/swap_orphan_scan/parameters/*"]
PANIC_RE = re.compile(r"Kernel panic - not syncing: ?(.*)")


def qemu_version() -> str:
    """``QEMU emulator version ...`` first line, or raise CaptureError if QEMU is missing."""
    try:
        out = subprocess.run([QEMU, "--version"], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise CaptureError(f"{QEMU} not found: run `make sysdeps` as root "
                           "(package qemu-system-x86)") from None
    return out.stdout.splitlines()[0].strip() if out.stdout else "unknown"


def default_timeout(scn: Scenario, trace: str) -> float:
    """A generous wall-clock limit for one run (TCG; tracing slows the workload up to 3x)."""
    work_mib = 0.0
    sleep_s = 0.0
    for proc in scn.processes:
        for ph in proc.phases:
            for leaf in ph.expand():
                if leaf.op == "alloc":
                    work_mib += leaf.params["mib"]
                elif leaf.op == "sleep":
                    sleep_s += leaf.params["seconds"]
    slow = 3.0 if trace != "none" else 1.0
    rate = min([r for r in (scn.swap["write_mib_s"], scn.swap["read_mib_s"]) if r > 0] or [20.0])
    return 120.0 + sleep_s * 2 + slow * (work_mib / 8.0 + 2 * work_mib / max(rate, 1.0))


def _cmdline(kernel: KernelImage, scn: Scenario, run_dir: Path, initrd: Path) -> list[str]:
    sw = scn.swap
    throttle = ""
    if sw["write_mib_s"] > 0:
        throttle += f",throttling.bps-write={int(sw['write_mib_s'] * (1 << 20))}"
    if sw["read_mib_s"] > 0:
        throttle += f",throttling.bps-read={int(sw['read_mib_s'] * (1 << 20))}"
    return [
        QEMU, "-accel", "tcg", "-cpu", "max", "-smp", str(scn.machine["vcpus"]),
        "-m", str(scn.machine["ram_mib"]), "-nographic", "-no-reboot",
        "-kernel", str(kernel.vmlinuz), "-initrd", str(initrd),
        # no_timer_check: skip the IO-APIC timer check, which panics ("IO-APIC + timer doesn't
        # work!") when a loaded host delays TCG's timer (seen on 6.12)
        "-append", "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check",
        "-drive", f"file={run_dir / 'swap.img'},format=raw,if=virtio,cache=unsafe{throttle}",
        "-drive", f"file={run_dir / 'out.img'},format=raw,if=virtio",
        "-device", "virtio-serial-pci",
        "-chardev", f"file,id=c2,path={run_dir / 'trace.txt'}",
        "-device", "virtserialport,chardev=c2,name=trace0",
        "-serial", "mon:stdio",
    ]


def _die_with_parent() -> None:
    """In the QEMU child: get SIGKILL when the capturing process dies (no stray guests)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1  # prctl(2) PR_SET_PDEATHSIG
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def run_guest(kernel: KernelImage, scn: Scenario, run_dir: Path, *, trace: str = "events",
              sample_ms: int = 100, timeout: float | None = None,
              extra_files: list[str] | None = None) -> Path:
    """Boot ``kernel`` in QEMU (TCG), run ``scn`` and leave the raw output in ``run_dir``.

    Returns ``run_dir``; raises :class:`CaptureError` when the guest failed (see check_raw).
    """
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    extra = DEFAULT_EXTRA_FILES + list(extra_files or []) + list(
        kernel.provenance.get("sampler_files", []))
    files = {
        "run.conf": run_conf(scn, trace, sample_ms, extra),
        "workload.txt": encode_workload(scn),
    }
    for name, text in files.items():
        (run_dir / name).write_text(text)
    initrd = initramfs_for_run(kernel, files, run_dir / "initrd.img")
    swap_mib = scn.swap["size_mib"] if scn.swap["device"] == "disk" else 1
    with open(run_dir / "swap.img", "wb") as f:
        f.truncate(swap_mib << 20)
    with open(run_dir / "out.img", "wb") as f:
        f.truncate(OUT_DISK_MIB << 20)
    (run_dir / "trace.txt").touch()
    cmd = _cmdline(kernel, scn, run_dir, initrd)
    limit = timeout if timeout is not None else default_timeout(scn, trace)
    start = time.monotonic()
    timed_out = False
    load_start = round(os.getloadavg()[0], 2)
    with open(run_dir / "console.log", "wb") as con:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=con,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        try:
            rc = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
            timed_out = True
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    wall = time.monotonic() - start
    out_dir = run_dir / "out"
    out_dir.mkdir()
    try:
        with tarfile.open(run_dir / "out.img") as tf:
            tf.extractall(out_dir, filter="data")
    except (tarfile.TarError, OSError):
        pass  # check_raw reports what is missing
    for name in ("swap.img", "out.img", "initrd.img"):
        (run_dir / name).unlink(missing_ok=True)
    meta: dict[str, Any] = {
        "qemu_cmdline": " ".join(cmd), "qemu_version": qemu_version(), "wall_s": round(wall, 3),
        "qemu_rc": rc, "timed_out": timed_out, "timeout_s": limit, "trace": trace,
        "sample_ms": sample_ms, "kernel": kernel.name, "kernel_release": kernel.release,
        "extra_files": extra,
        # TCG races depend on host load: 1-minute load average when QEMU started and ended
        "host_load_start": load_start, "host_load_end": round(os.getloadavg()[0], 2),
    }
    (run_dir / "run.json").write_text(json.dumps(meta, indent=1) + "\n")
    check_raw(run_dir)
    return run_dir


def check_raw(run_dir: Path) -> dict[str, Any]:
    """Raise :class:`CaptureError` (one line) unless ``run_dir`` holds a complete run."""
    meta_path = run_dir / "run.json"
    if not meta_path.exists():
        raise CaptureError(f"{run_dir}: no run.json (the run never finished)")
    meta = json.loads(meta_path.read_text())
    console = (run_dir / "console.log").read_text(errors="replace")
    where = f"{meta.get('kernel_release', '?')} run {run_dir.name}"
    panic = PANIC_RE.search(console)
    if panic:
        raise CaptureError(f"{where}: kernel panic: {panic.group(1).strip()[:160]}")
    fail = re.search(r"SWAPLAB-FAIL (.*)", console)
    if fail:
        raise CaptureError(f"{where}: guest setup failed: {fail.group(1).strip()[:160]}")
    if meta.get("timed_out"):
        stage = "before /init" if "SWAPLAB-BOOTED" not in console else (
            "in the workload" if "SWAPLAB-WORKLOAD-END" not in console else "after the workload")
        raise CaptureError(f"{where}: guest hung {stage}; killed after "
                           f"{meta['timeout_s']:.0f} s (see {run_dir / 'console.log'})")
    if "SWAPLAB-END" not in console:
        raise CaptureError(f"{where}: guest stopped without finishing (qemu rc "
                           f"{meta.get('qemu_rc')}); see {run_dir / 'console.log'}")
    out = run_dir / "out"
    rc = re.search(r"SWAPLAB-WORKLOAD-END rc=(\d+)", console)
    if rc and rc.group(1) != "0":
        log = out / "workload.log"
        last = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        code = int(rc.group(1))
        how = f"rc {code}" + (f", signal {code - 128}" if code > 128 else "")
        tail = f": {last[0][:120]}" if last else ""
        raise CaptureError(f"{where}: the guest workload interpreter failed ({how}){tail}")
    for name in ("samples.txt", "snapshots.txt", "knobs.txt"):
        if not (out / name).exists():
            raise CaptureError(f"{where}: guest output lacks {name} (second disk unreadable?)")
    return meta

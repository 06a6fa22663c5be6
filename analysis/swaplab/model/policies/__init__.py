"""Policies: named presets of model knobs, one preset per module in this package.

A preset module defines ``NAME`` (the policy name), ``KNOBS`` (a mapping of knob overrides
over the defaults in :data:`KNOBS`), a docstring citing the kernel sources of its rules and,
if it models real kernels, ``KERNELS``: their names as the traces and ``swaplab kernel`` name
them (``6.1``, ``6.12``, ``7``, a built kernel ``6.1+hugh-scan``); :func:`policy_for_kernel`
reads them.  The first of them is the kernel the preset is fitted to: its time costs and jitter
sizes come from ``data/calibration/<kernel>.toml`` when that file exists.
The registry :data:`PRESETS` is built by discovering those modules, not by an if/else chain.
:func:`resolve_knobs` merges user overrides over a preset with the same checks for both.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swaplab.checks import BadValue, check_value, describe
from swaplab.model.errors import ModelError
from swaplab.paths import DATA

__all__ = ["KNOBS", "PRESETS", "Knob", "Policy", "calibrated_knobs", "resolve_knobs",
           "knobs_json", "knob_vector", "kernel_presets", "policy_for_kernel"]


@dataclass(frozen=True)
class Knob:
    """One model knob: type, default, allowed range or choices, and what it means."""

    kind: str  # "bool" | "int" | "float" | "choice"
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()

    def allowed(self) -> str:
        """Human-readable allowed values."""
        return describe(self.kind, self.lo, self.hi, choices=self.choices)

    def check(self, name: str, value: Any, where: str) -> Any:
        """Validate and normalise ``value``; raise ModelError naming the knob otherwise.
        Strings (``--set``, sweep specs) are parsed first."""
        bad = ModelError(f"{where}: knob {name!r} must be {self.allowed()}, got {value!r}")
        if isinstance(value, str):
            if self.kind == "bool" and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if self.kind in ("int", "float"):
                try:
                    value = float(value) if self.kind == "float" else int(value)
                except ValueError:
                    raise bad from None
        try:
            return check_value(self.kind, value, self.lo, self.hi, choices=self.choices,
                               whole_floats=True)
        except BadValue:
            raise bad from None

    def encode(self, value: Any) -> float:
        """The knob as a float64 for the jitted engine (choices by index)."""
        if self.kind == "choice":
            return float(self.choices.index(value))
        return float(value)


_B, _I, _F, _C = "bool", "int", "float", "choice"
# where a time cost's default comes from
_FIT = "calibrated: swaplab calibrate --kernel 6.1 (data/calibration/standard-6.1.toml)"
_GUESS = ("not constrained by the 6.1 traces, kept at its guess: swaplab calibrate --kernel 6.1 "
          "(data/calibration/standard-6.1.toml [fixed])")

# Every knob, in the order of the engine's knob vector (swaplab.model.engine K_* constants).
KNOBS: dict[str, Knob] = {
    # --- swap_map and allocator rules per era ---
    "era": Knob(_C, "2.6.33", "swap_map encoding: '2.6.30' counted cache ref, '2.6.31' "
                "SWAP_HAS_CACHE 0x8000, '2.6.33' unsigned char 0x40 + continuation",
                choices=("2.6.30", "2.6.31", "2.6.33")),
    "slots_cache": Knob(_B, True, "6.1 per-cpu swap_slots_cache: allocate and free slots in "
                        "batches of SWAP_SLOTS_CACHE_SIZE=64 (mm/swap_slots.c, removed by 6.18)"),
    "slots_cache_free": Knob(_B, True, "free side of the slots cache (free_swap_slot batches 64;"
                             " removed in 6.14 by 4f79384a25d5)"),
    "alloc_reclaim": Knob(_B, True, "scan_swap_map(_slots): __try_to_reclaim_swap on "
                          "SWAP_HAS_CACHE-only slots when vm_swap_full() (2.6.31+)"),
    "alloc_full_cluster_reclaim": Knob(_B, False, "6.12 swap_reclaim_full_clusters() on "
                                       "allocation when vm_swap_full()"),
    "swap_full_memcg": Knob(_B, True, "'swap full' tests use mem_cgroup_swap_full() (v2 "
                            "swap.max/high headroom) instead of only vm_swap_full() (50%)"),
    # --- zap (munmap/exit) ---
    "zap_lock": Knob(_C, "trylock", "free_swap_and_cache/free_swap_cache page lock: "
                     "'trylock' (mainline) or 'lock' (kamezawa-sync: lock_page waits)",
                     choices=("trylock", "lock")),
    "zap_wait_writeback": Knob(_B, False, "zap waits for PG_writeback to end before freeing "
                               "(kamezawa-sync RFC)"),
    "trylock_fail_p": Knob(_F, 0.0001, "probability that trylock_page loses to another "
                           "holder (6.1 trace: 2 lock failures in 46k)", 0.0, 1.0),
    # --- swap-in ---
    "readahead": Knob(_B, True, "swapin_readahead (cluster or VMA window, page_cluster)"),
    "swapin_free": Knob(_C, "swap_full", "do_swap_page drops the swap cache after mapping: "
                        "'swap_full' (mem_cgroup_swap_full or exclusive write fault, 6.1) "
                        "or 'always' (plain LRU mode)", choices=("swap_full", "always")),
    # --- reclaim ---
    "anon_scan_when_full": Knob(_C, "never", "anon LRU scan with no free swap: 'never' "
                                "(get_scan_count SCAN_FILE, can_reclaim_anon_pages) or "
                                "'swapcache_only' (Liu Shixin 2023, unmerged)",
                                choices=("never", "swapcache_only")),
    "reclaim_batch": Knob(_I, 32, "pages reclaimed per try (SWAP_CLUSTER_MAX)", 1, 4096),
    "reclaim_retries": Knob(_I, 16, "memcg reclaim retries before OOM "
                            "(MAX_RECLAIM_RETRIES, try_charge_memcg)", 1, 1000),
    # --- the global scanning family (hugh-scan, 6.12 full-cluster reclaim) ---
    "scan_trigger": Knob(_C, "off", "when the scan may run: 'off', 'really_full' (free swap "
                         "< scan_threshold_pages), 'half_full' (vm_swap_full 50%), "
                         "'device_full' (si->inuse_pages == si->pages, 6.12 reclaim_work)",
                         choices=("off", "really_full", "half_full", "device_full")),
    "scan_threshold_pages": Knob(_I, 32, "'really_full' threshold on free swap pages", 0,
                                 1 << 30),
    "scan_memcg_headroom": Knob(_B, True, "free swap for the trigger includes the memcg's "
                                "swap.max headroom (mem_cgroup_get_nr_swap_pages)"),
    "scan_when": Knob(_C, "sync", "'sync': before any OOM (memcg or global) in the charge "
                      "path; 'async': a worker runs scan_async_delay_s after the trigger",
                      choices=("sync", "async")),
    "scan_async_delay_s": Knob(_F, 0.05, "delay of the asynchronous scan worker", 0.0, 60.0),
    "scan_what": Knob(_C, "swap_map", "what the scan visits: the whole 'swap_map', "
                      "'full_clusters' only, or the 'lru_swapcache' pages on the LRU",
                      choices=("swap_map", "full_clusters", "lru_swapcache")),
    "scan_batch": Knob(_I, 0, "slots (or pages) visited per scan, 0 = all", 0, 1 << 30),
    "scan_lock": Knob(_C, "trylock", "page lock of the scan: 'trylock' or 'lock' "
                      "(lock_page, also waits for writeback to end)",
                      choices=("trylock", "lock")),
    "scan_slot_ns": Knob(_F, 20.0, "CPU cost per slot visited by the scan (ns)", 0.0, 1e6),
    # --- time costs (ns per page; TCG guest defaults) ---
    "cpu_fault_ns": Knob(_F, 54900.0, "anonymous first-touch fault incl. zeroing; " + _FIT,
                         0.0, 1e9),
    "cpu_write_ns": Knob(_F, 1000.0, "write or read of one present page; " + _GUESS, 0.0, 1e9),
    "cpu_swapfault_ns": Knob(_F, 2640.0, "swap fault overhead (do_swap_page) without I/O; "
                             + _FIT, 0.0, 1e9),
    "cpu_pageout_ns": Knob(_F, 117000.0, "reclaim of one page (unmap, add_to_swap, submit); "
                           + _FIT, 0.0, 1e9),
    "cpu_scan_ns": Knob(_F, 500.0, "LRU scan of a page that is kept; " + _GUESS, 0.0, 1e9),
    "cpu_zap_ns": Knob(_F, 2950.0, "zap of one pte (zap_pte_range); " + _FIT, 0.0, 1e9),
    "io_latency_us": Knob(_F, 101.0, "latency of one swap I/O before transfer; " + _FIT,
                          0.0, 1e7),
    "fast_write_mib_s": Knob(_F, 1630.0, "write bandwidth when the scenario says 0 "
                             "(unthrottled); " + _FIT, 0.1, 1e6),
    "fast_read_mib_s": Knob(_F, 16.5, "read bandwidth when the scenario says 0; " + _FIT,
                            0.1, 1e6),
    "jitter": Knob(_F, 0.1, "relative random jitter of each CPU cost", 0.0, 1.0),
    # --- machine ---
    "kernel_reserved_mib": Knob(_I, 48, "RAM the guest kernel and init keep (not for the "
                                "workload)", 0, 4096),
    # --- output and checking ---
    "sample_interval_s": Knob(_F, 0.1, "time-series sampling interval", 0.001, 60.0),
    "check_invariants": Knob(_B, False, "check swap_map/pte/memcg invariants after every "
                             "op step (slow; tests)"),
    "max_sim_s": Knob(_F, 3600.0, "stop simulated time here (safety bound)", 1.0, 1e6),
    # --- the swap disk (appended: the engine's knob vector order) ---
    "io_burst_s": Knob(_F, 0.1, "a throttled swap disk (write_mib_s/read_mib_s > 0) admits "
                       "I/O at once while its leaky bucket holds under this many seconds of "
                       "bandwidth, as QEMU's throttle does with no -max set (avg/10, "
                       "util/throttle.c throttle_compute_wait); admitted I/O runs at "
                       "fast_write_mib_s / fast_read_mib_s; 0 = a strict FIFO at the "
                       "throttled bandwidth", 0.0, 60.0),
    # --- memcg accounting (appended: the engine's knob vector order) ---
    "memcg_accounting": Knob(_C, "v2", "memcg counters: 'v2' memory + swap (swap charged at "
                             "slot allocation, 4.5+) or 'v1_memsw' res + memsw (2.6.30 "
                             "memcontrol.c: memsw stays on a swapped-out slot via "
                             "swap_cgroup_record).  In v1 the scenario's memory_max is the "
                             "res limit and its swap_max the memsw headroom above it: memsw "
                             "limit = memory_max + swap_max ('max' in either: unlimited); "
                             "there is no separate swap limit and swap_high is ignored",
                             choices=("v2", "v1_memsw")),
    # --- the guest harness and the process (appended) ---
    "phase_pause_s": Knob(_F, 0.0927, "the workload stops this long at each phase end while "
                          "the guest snapshots (I/O goes on); " + _FIT, 0.0, 60.0),
    "cpu_munmap_ns": Knob(_F, 50000.0, "one munmap call or VMA torn down by it (split, TLB "
                          "flush), besides cpu_zap_ns per pte; a guess kept fixed by swaplab "
                          "calibrate (data/calibration/standard-6.1.toml [fixed]; why: "
                          "calibrate.py FIT_KNOBS)", 0.0, 1e9),
    "proc_charge_pages": Knob(_I, 64, "pages each process charges to the memcg besides its "
                              "anon pages (page tables, stack, kernel objects; memory.current "
                              "- anon after the first alloc on 6.1/6.12/7.2: 64)", 0, 1 << 20),
    # --- run-to-run variability (appended; 0 = off, no random draw) ---
    "io_jitter": Knob(_F, 0.0, "relative random jitter of each swap I/O: its latency "
                      "(io_latency_us), its share of a throttled bandwidth and its time on the "
                      "disk once admitted are scaled by one U(1 - io_jitter, 1 + io_jitter) "
                      "draw", 0.0, 1.0),
    "io_reorder": Knob(_I, 0, "completion-order jitter of the swap disk queues (writeback and "
                       "reads): a new request completes in the place of one of the last "
                       "io_reorder requests still queued in its direction (uniform over them "
                       "and itself; never before the disk admitted it, so a saturated throttle "
                       "stays in order), as virtio-blk requests complete out of order on "
                       "QEMU's I/O threads; 0 = FIFO", 0, 4096),
    "sched_jitter_us": Knob(_F, 0.0, "scheduling jitter of racing threads: each munmap call "
                            "and each read of race_unmap's two threads, and each fork and exit "
                            "of a fork_touch child, starts late by U(0, sched_jitter_us) "
                            "microseconds (vCPU and host scheduling under TCG)", 0.0, 1e6),
    "phase_speed_jitter": Knob(_F, 0.0, "relative jitter of the guest's speed per op row (a "
                               "phase, or one step of a repeat): one U(1 - j, 1 + j) draw "
                               "scales every CPU cost and the phase pause in it, as host load "
                               "changes TCG's speed for seconds at a time; per-op jitter "
                               "averages out over thousands of pages and cannot make the "
                               "30-90 % repeat-to-repeat spread of kernel phase durations",
                               0.0, 0.95),
    # --- the sync scan's writeback mode (appended) ---
    "scan_wait_writeback": Knob(_C, "never", "candidates of the sync scan under writeback: "
                                "'never' waited for, 'each' waited for one by one "
                                "(folio_wait_writeback), 'if_none_freed': if the scan freed "
                                "nothing, wait for the first one met and let the charge "
                                "retry, scanning again (kernels/patches/6.1/hugh-scan.patch "
                                "wait_writeback 2, its default)",
                                choices=("never", "each", "if_none_freed")),
    # --- allocator reclaim path (appended) ---
    "alloc_reclaim_direct": Knob(_B, False, "the allocator's reclaim of a cache-only slot "
                                 "frees it directly, not through the per-cpu free batch, so "
                                 "scan_swap_map_slots takes it at once (6.12 TTRS_DIRECT, "
                                 "mm/swapfile.c:231-249; 6.1 frees through free_swap_slot)"),
    # --- write-protect fault (appended) ---
    "wp_free_swap": Knob(_B, False, "a write to a page mapped read-only after a swap-in "
                         "frees its swap (do_wp_page -> reuse_swap_page -> "
                         "try_to_free_swap, 2.6.x .. 5.18); false: do_wp_page reuses a "
                         "PageAnonExclusive page and keeps the swap cache (5.19+, 6.1.192 "
                         "mm/memory.c do_wp_page)"),
    # --- zram: SWP_SYNCHRONOUS_IO (appended) ---
    "sync_io_swapin": Knob(_C, "skip_swapcache", "swap-in from a SWP_SYNCHRONOUS_IO device "
                           "(zram): 'none' as from a disk (before 4.15); 'skip_swapcache': a "
                           "slot with one swap pte is read into a page outside the swap cache "
                           "and freed, others as from a disk (4.15 0bcac06f27d7 .. 6.x, "
                           "6.1.192 mm/memory.c:3842); 'swapin_sync': no readahead, the page "
                           "goes through the swap cache and is freed from it after mapping "
                           "whenever no other pte holds the slot (7.2.13 mm/memory.c:4832, "
                           ":4527).  Writes to such a device are synchronous in every era, "
                           "and reclaim frees the written page at once (mm/vmscan.c "
                           "shrink_folio_list 'A synchronous write')",
                           choices=("none", "skip_swapcache", "swapin_sync")),
    "zram_page_ns": Knob(_F, 30000.0, "CPU time zram spends on one page: lzo-rle compression "
                         "of a write or decompression of a read, in the task that does it; "
                         + _GUESS, 0.0, 1e9),
    # --- the slot allocator (appended) ---
    "swap_allocator": Knob(_C, "scan_swap_map", "how a slot is found: 'scan_swap_map': "
                           "scan_swap_map_slots' walk of swap_map (2.6.x .. 6.12 on a "
                           "rotational device, 6.1.192 mm/swapfile.c:800); 'cluster': 7.x's "
                           "cluster_alloc_swap_entry on a rotational device: the current "
                           "cluster through global_cluster->next, then nonfull clusters "
                           "(reclaiming their cache-only slots once vm_swap_full()), a free "
                           "cluster, one full cluster reclaimed, a frag cluster (7.2.13 "
                           "mm/swapfile.c:1092-1183)", choices=("scan_swap_map", "cluster")),
}

KNOB_INDEX = {name: i for i, name in enumerate(KNOBS)}


@dataclass(frozen=True)
class Policy:
    """A named preset: knob overrides over the defaults, with its source module's docs."""

    name: str
    knobs: Mapping[str, Any]
    doc: str = field(default="", repr=False)
    kernels: tuple[str, ...] = ()  # the kernels it models (module's KERNELS)
    calibration: str | None = None  # the kernel whose calibration file it reads

    @property
    def calibrated(self) -> Mapping[str, Any]:
        """Fitted time costs and jitter sizes (data/calibration/<kernel>.toml), applied under
        ``knobs``; read on first use, so importing the presets parses no calibration."""
        return _calibrated_cached(self.calibration) if self.calibration else {}


# data/calibration/<kernel>.toml: a kernel's fitted knobs (swaplab calibrate)
CALIBRATION_DIR = DATA / "calibration"


def calibrated_knobs(kernel: str, folder: Path | None = None) -> dict[str, Any]:
    """The knobs of ``data/calibration/<kernel>.toml`` (its ``[fitted]`` and ``[fixed]``
    tables), checked; empty when there is no such file."""
    import tomllib

    path = (folder or CALIBRATION_DIR) / f"{kernel}.toml"
    if not path.is_file():
        return {}
    text = path.read_text()
    # the knobs sit above [targets], the fit's long per-target record (swaplab calibrate
    # writes it last): parse only what is needed
    head, sep, _ = text.partition("\n[targets]\n")
    doc = tomllib.loads(head if sep else text)
    out: dict[str, Any] = {}
    for table in ("fixed", "fitted"):
        for key, value in doc.get(table, {}).items():
            if key == "note":
                continue
            if key not in KNOBS:
                raise ModelError(f"{path}: [{table}] unknown knob {key!r}")
            out[key] = KNOBS[key].check(key, value, str(path))
    return out


@functools.cache
def _calibrated_cached(kernel: str) -> dict[str, Any]:
    return calibrated_knobs(kernel)


def _discover() -> dict[str, Policy]:
    presets: dict[str, Policy] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        name = getattr(mod, "NAME", None)
        if name is None:
            continue
        # a preset modelling kernels (KERNELS) takes its time costs and jitter sizes from
        # that kernel's calibration file; its own KNOBS (the rules) go over them
        kernels = tuple(getattr(mod, "KERNELS", ()))
        cal = kernels[0] if kernels else None
        knobs = dict(getattr(mod, "KNOBS", {}))
        for key, value in knobs.items():
            if key not in KNOBS:
                raise ModelError(f"preset {name!r} ({info.name}.py): unknown knob {key!r}")
            knobs[key] = KNOBS[key].check(key, value, f"preset {name!r}")
        presets[name] = Policy(name, knobs, (mod.__doc__ or "").strip(), kernels=kernels,
                               calibration=cal)
    return presets


PRESETS: dict[str, Policy] = _discover()


def kernel_presets() -> dict[str, str]:
    """Kernel name -> the preset that models it, from each preset module's ``KERNELS``."""
    out: dict[str, str] = {}
    for pol in PRESETS.values():
        for kernel in pol.kernels:
            if kernel in out:
                raise ModelError(f"kernel {kernel!r} is claimed by presets {out[kernel]!r} "
                                 f"and {pol.name!r}")
            out[kernel] = pol.name
    return out


def policy_for_kernel(kernel: str) -> str:
    """The preset modelling ``kernel``: a kernel name (``6.1``, ``6.1+hugh-scan``) or a release
    (``uname -r``: ``6.1.0-28-amd64`` -> ``linux-6.1``; a kernel built by ``swaplab kernel
    build`` has ``-swaplab-<patch>[-debug]-<hash>`` in its release, ``6.1+<patch>[+debug]``)."""
    known = kernel_presets()
    if kernel in known:
        return known[kernel]
    best = ""
    for name in known:
        base, _, patch = name.partition("+")
        if not kernel.startswith((base + ".", base + "-", base + "+")):
            continue
        built = "-swaplab-" in kernel
        if built != bool(patch) or (patch and "-swaplab-" + patch.replace("+", "-") + "-"
                                    not in kernel):
            continue
        if len(name) > len(best):
            best = name
    if not best:
        raise ModelError(f"no model policy for kernel {kernel!r}; known: " + ", ".join(known))
    return known[best]


def resolve_knobs(policy: str | Policy, overrides: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Full knob mapping: defaults, then the preset, then ``overrides`` (all checked)."""
    if isinstance(policy, Policy):
        pol = policy
    elif policy in PRESETS:
        pol = PRESETS[policy]
    else:
        raise ModelError(f"unknown policy {policy!r}; allowed: " + ", ".join(PRESETS))
    knobs = {name: k.default for name, k in KNOBS.items()}
    knobs.update(pol.calibrated)
    knobs.update(pol.knobs)
    for key, value in (overrides or {}).items():
        if key not in KNOBS:
            raise ModelError(f"unknown knob {key!r}; allowed: " + ", ".join(KNOBS))
        knobs[key] = KNOBS[key].check(key, value, f"policy {pol.name!r}")
    return knobs


def knobs_json(knobs: Mapping[str, Any]) -> str:
    """The resolved knobs as sorted JSON (the ``knobs_json`` attr)."""
    return json.dumps(dict(knobs), sort_keys=True)


def knob_vector(knobs: Mapping[str, Any]) -> Any:
    """The knobs as a float64 vector in :data:`KNOBS` order, for the engine."""
    import numpy as np

    return np.array([KNOBS[n].encode(knobs[n]) for n in KNOBS], dtype=np.float64)

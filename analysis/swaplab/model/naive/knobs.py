"""The knobs the naive model reads, as typed fields; values it does not implement fail loudly.

Values come from :func:`swaplab.model.policies.resolve_knobs` (by name).  A knob that this
model does not know, or a choice it does not implement, raises :class:`NaiveModelError`
with one line naming it, so a new engine knob cannot silently be ignored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from swaplab.model.errors import ModelError

# choices this model implements, per choice knob
CHOICES: dict[str, tuple[str, ...]] = {
    "era": ("2.6.30", "2.6.31", "2.6.33"),
    "zap_lock": ("trylock", "lock"),
    "swapin_free": ("swap_full", "always"),
    "anon_scan_when_full": ("never", "swapcache_only"),
    "scan_trigger": ("off", "really_full", "half_full", "device_full"),
    "scan_when": ("sync", "async"),
    "scan_what": ("swap_map", "full_clusters", "lru_swapcache"),
    "scan_lock": ("trylock", "lock"),
    "memcg_accounting": ("v2", "v1_memsw"),
    "scan_wait_writeback": ("never", "each", "if_none_freed"),
    "sync_io_swapin": ("none", "skip_swapcache", "swapin_sync"),
    "swap_allocator": ("scan_swap_map", "cluster"),
}
# knobs not read here, with the values whose behaviour this model has built in
BUILT_IN: dict[str, tuple[Any, ...]] = {
    "check_invariants": (True, False),  # the engine's self-check; nothing to simulate
}


class NaiveModelError(ModelError):
    """The naive model was asked for a knob or value it does not implement."""


@dataclass(frozen=True)
class Knobs:
    """Resolved knob values (see swaplab.model.policies.KNOBS for their meaning)."""

    era: str
    slots_cache: bool
    slots_cache_free: bool
    alloc_reclaim: bool
    alloc_full_cluster_reclaim: bool
    swap_full_memcg: bool
    zap_lock: str
    zap_wait_writeback: bool
    trylock_fail_p: float
    readahead: bool
    swapin_free: str
    anon_scan_when_full: str
    reclaim_batch: int
    reclaim_retries: int
    scan_trigger: str
    scan_threshold_pages: int
    scan_memcg_headroom: bool
    scan_when: str
    scan_async_delay_s: float
    scan_what: str
    scan_batch: int
    scan_lock: str
    scan_slot_ns: float
    cpu_fault_ns: float
    cpu_write_ns: float
    cpu_swapfault_ns: float
    cpu_pageout_ns: float
    cpu_scan_ns: float
    cpu_zap_ns: float
    io_latency_us: float
    fast_write_mib_s: float
    fast_read_mib_s: float
    jitter: float
    kernel_reserved_mib: int
    sample_interval_s: float
    max_sim_s: float
    io_burst_s: float
    phase_pause_s: float
    cpu_munmap_ns: float
    proc_charge_pages: int
    memcg_accounting: str
    io_jitter: float
    io_reorder: int
    sched_jitter_us: float
    phase_speed_jitter: float
    scan_wait_writeback: str
    alloc_reclaim_direct: bool
    wp_free_swap: bool
    sync_io_swapin: str
    zram_page_ns: float
    swap_allocator: str

    @classmethod
    def from_mapping(cls, knobs: Mapping[str, Any]) -> Knobs:
        """Typed knobs from a resolved mapping; NaiveModelError for what is not implemented."""
        names = {f.name: f.type for f in fields(cls)}
        for name, value in knobs.items():
            if name in BUILT_IN:
                if value not in BUILT_IN[name]:
                    raise NaiveModelError(f"naive model: knob {name}={value!r} is not "
                                          f"implemented (only {BUILT_IN[name]!r})")
            elif name not in names:
                raise NaiveModelError(f"naive model: knob {name!r} is not implemented")
            elif name in CHOICES and value not in CHOICES[name]:
                raise NaiveModelError(f"naive model: knob {name}={value!r} is not implemented")
        missing = [n for n in names if n not in knobs]
        if missing:
            raise NaiveModelError(f"naive model: knobs missing: {', '.join(missing)}")
        vals: dict[str, Any] = {}
        for name, typ in names.items():
            v = knobs[name]
            vals[name] = {"bool": bool, "int": int, "float": float}.get(typ, lambda x: x)(v)
        return cls(**vals)

"""Patched-kernel builds: names, config fragments, the hugh-scan patch.

Tests marked ``kbuild`` need Debian's linux-source-6.1 package; they fetch it once into the
build cache (``$SWAPLAB_CACHE/kbuild``, ~140 MB, unpacked ~1.5 GB) and take about a minute in
all.  The full build + boot test runs only when the build cache already holds the kernels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from swaplab import cli
from swaplab.capture import kbuild

PATCH = kbuild.PATCHES_DIR / "6.1" / "hugh-scan.patch"


def _sysdeps(*cmds: str) -> None:
    missing = [c for c in cmds if shutil.which(c) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (run `make sysdeps` as root)")


# ----------------------------------------------------------------------------- names


def test_kernel_name_round_trips():
    # "<base>+<patch|none>[+debug]" is the name capture --kernel takes
    for name in ("6.1+none", "6.1+hugh-scan", "6.1+hugh-scan+debug", "6.1+none+debug"):
        assert kbuild.parse_kernel_name(name).name == name


def test_unknown_patch_error_lists_allowed_patches():
    with pytest.raises(kbuild.KbuildError) as err:
        kbuild.parse_kernel_name("6.1+no-such-policy")
    msg = str(err.value)
    assert "\n" not in msg
    assert "no-such-policy" in msg and "hugh-scan" in msg and "none" in msg


@pytest.mark.parametrize("name", ["6.1", "6.1+hugh-scan+dbg", "9.9+none", "6.1+a+b+c"])
def test_malformed_name_is_one_line_error(name):
    with pytest.raises(kbuild.KbuildError) as err:
        kbuild.parse_kernel_name(name)
    assert "\n" not in str(err.value)


def test_build_key_and_release_change_with_patch_and_debug():
    specs = [kbuild.parse_kernel_name(n)
             for n in ("6.1+none", "6.1+hugh-scan", "6.1+hugh-scan+debug")]
    assert len({kbuild.build_key(s) for s in specs}) == 3
    assert len({s.localversion for s in specs}) == 3


def test_release_changes_when_the_patch_changes(tmp_path, monkeypatch):
    # capture caches are keyed by kernel release: an edited patch must not reuse old runs
    spec = kbuild.parse_kernel_name("6.1+hugh-scan")
    before = spec.localversion
    (tmp_path / "6.1").mkdir()
    (tmp_path / "6.1" / "hugh-scan.patch").write_text(PATCH.read_text() + "\n")
    monkeypatch.setattr(kbuild, "PATCHES_DIR", tmp_path)
    assert spec.localversion != before


def test_resolve_unbuilt_kernel_names_the_build_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAPLAB_CACHE", str(tmp_path))
    with pytest.raises(kbuild.KbuildError) as err:
        kbuild.resolve_built_kernel("6.1+hugh-scan+debug")
    assert "swaplab kernel build --base 6.1 --patch hugh-scan --debug" in str(err.value)


# ----------------------------------------------------------------------------- fragments


def test_fragment_parser_reads_values_and_not_set():
    opts = kbuild.fragment_options(kbuild.CONFIGS_DIR / "base.config")
    assert opts["CONFIG_KPROBES"] == "y"
    assert opts["CONFIG_MODULES"] == "y"  # KPROBES depends on MODULES in 6.1
    assert opts["CONFIG_SLUB"] == "y"  # tinyconfig's SLOB would block MEMCG_KMEM
    assert opts["CONFIG_LRU_GEN_ENABLED"] is None  # as Debian 6.1: MGLRU off at boot


def test_fragment_parser_rejects_garbage(tmp_path):
    frag = tmp_path / "bad.config"
    frag.write_text("CONFIG_SWAP=y\nSWAP=y\n")
    with pytest.raises(kbuild.KbuildError, match=r"bad.config:2: not a config line"):
        kbuild.fragment_options(frag)


def test_check_config_lists_every_option_that_did_not_stick(tmp_path):
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_SWAP=y\nCONFIG_KPROBES=y\n# CONFIG_SLOB is not set\n")
    dotconfig = tmp_path / ".config"
    dotconfig.write_text("CONFIG_SWAP=y\n# CONFIG_KPROBES is not set\nCONFIG_SLOB=y\n")
    with pytest.raises(kbuild.KbuildError) as err:
        kbuild.check_config(dotconfig, [frag])
    msg = str(err.value)
    assert "2 config option(s)" in msg
    assert "CONFIG_KPROBES (want y, got not set)" in msg
    assert "CONFIG_SLOB (want not set, got y)" in msg
    assert "CONFIG_SWAP" not in msg


# ----------------------------------------------------------------------------- patch


def test_patch_touches_the_charge_and_allocation_paths():
    # "before OOMing, memcg or not": the memcg charge path and the page allocator
    assert kbuild.patched_files(PATCH) == [
        "mm/memcontrol.c", "mm/page_alloc.c", "mm/swap.h", "mm/swapfile.c"]
    text = PATCH.read_text()
    assert "swap_orphan_scan(mem_over_limit, gfp_mask" in text  # try_charge_memcg
    assert "swap_orphan_scan(NULL, gfp_mask" in text  # __alloc_pages_slowpath


def test_counters_file_matches_the_patch():
    counters = kbuild.policy_counters("6.1+hugh-scan")
    assert {c.kind for c in counters} == {"counter", "knob"}
    text = PATCH.read_text()
    for c in counters:
        assert c.path == f"/sys/module/swap_orphan_scan/parameters/{c.name}"
        # each exported name is a module_param_named() in the patch
        assert f"module_param_named({c.name}," in text, c.name
    assert kbuild.policy_counters("6.1+none") == []


@pytest.mark.kbuild
def test_patch_applies_to_pinned_source(tmp_path):
    _sysdeps("apt-get", "dpkg-deb", "patch", "tar")
    tarball = kbuild.source_tarball("6.1", kbuild.Progress("test", quiet=True))
    files = kbuild.patched_files(PATCH)
    kbuild.extract_files(tarball, files, tmp_path)
    kbuild.check_patch_applies(PATCH, tmp_path)  # raises if a hunk fails


@pytest.mark.kbuild
def test_broken_patch_is_one_line_cli_error(tmp_path, monkeypatch, capsys):
    _sysdeps("apt-get", "dpkg-deb", "patch", "tar")
    kbuild.pristine_tree("6.1", kbuild.Progress("test", quiet=True))
    patches = tmp_path / "patches"
    (patches / "6.1").mkdir(parents=True)
    # a context line the 6.1 source does not have: the hunk cannot apply
    broken = PATCH.read_text().replace(
        "\tbool raised_max_event = false;\n", "\tbool raised_max_event = true;\n", 1)
    assert broken != PATCH.read_text()
    (patches / "6.1" / "stale.patch").write_text(broken)
    monkeypatch.setattr(kbuild, "PATCHES_DIR", patches)
    rc = cli.main(["kernel", "build", "--base", "6.1", "--patch", "stale", "--check"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1
    assert "stale.patch does not apply" in err and "mm/memcontrol.c" in err


@pytest.mark.kbuild
@pytest.mark.parametrize("debug", [False, True], ids=["base", "debug"])
def test_config_fragments_survive_olddefconfig(tmp_path, debug):
    _sysdeps("make", "gcc", "flex", "bison")
    tree = kbuild.pristine_tree("6.1", kbuild.Progress("test", quiet=True))
    spec = kbuild.make_spec("6.1", None, debug)
    dotconfig = kbuild.configure(tree, kbuild.fragment_paths(spec), outdir=tmp_path)
    text = dotconfig.read_text()
    assert "CONFIG_KPROBE_EVENTS=y" in text and "CONFIG_MEMCG=y" in text
    assert ("CONFIG_PROVE_LOCKING=y" in text) is debug


@pytest.mark.kbuild
def test_option_with_unmet_dependency_fails_the_check(tmp_path):
    # the probe's trap: KPROBES without MODULES silently disappears in olddefconfig
    _sysdeps("make", "gcc", "flex", "bison")
    tree = kbuild.pristine_tree("6.1", kbuild.Progress("test", quiet=True))
    frag = tmp_path / "trap.config"
    frag.write_text("# CONFIG_MODULES is not set\nCONFIG_KPROBES=y\n")
    with pytest.raises(kbuild.KbuildError, match=r"CONFIG_KPROBES \(want y, got not set\)"):
        kbuild.configure(tree, [frag], outdir=tmp_path / "o")


# ----------------------------------------------------------------------------- built kernels


def _built_or_skip(name: str) -> kbuild.BuiltKernel:
    built = kbuild.find_built_kernel(kbuild.parse_kernel_name(name))
    if built is None:
        pytest.skip(f"build cache cold for {name}: run `swaplab kernel build --base 6.1"
                    f"{' --patch hugh-scan' if 'hugh' in name else ''}` (~5 min) to run this")
    return built


@pytest.mark.kbuild
def test_built_kernel_resolves_with_provenance():
    built = _built_or_skip("6.1+hugh-scan")
    image = kbuild.resolve_built_kernel("6.1+hugh-scan")
    assert Path(image.vmlinuz) == built.bzimage and built.bzimage.stat().st_size > 1_000_000
    assert image.release.startswith("6.1.192-swaplab-hugh-scan-")
    prov = image.provenance
    assert prov["source_version"] == kbuild.sources()["6.1"]["version"]
    assert prov["patch_sha256"] == kbuild.sha256_file(PATCH)
    assert prov["config_hash"] == kbuild.config_hash(kbuild.parse_kernel_name("6.1+hugh-scan"))
    assert "gcc" in prov["compiler"]
    # the patch's symbols are in the built kernel
    assert " swap_orphan_scan\n" in built.system_map.read_text()


@pytest.mark.kbuild
@pytest.mark.qemu
def test_patched_kernel_frees_orphans_instead_of_oom_killing():
    # full-swap-oom-lowered: ~16k orphans, then swap.max is lowered to 48M (12288 pages) below
    # them, so the headroom is negative (the probe's unsigned bug skipped exactly this case).
    # Unpatched 6.1 OOM-kills the next 40 MB allocation (5/5 runs); the scan must free orphans.
    _built_or_skip("6.1+hugh-scan")
    _sysdeps("qemu-system-x86_64")
    from swaplab.capture.run import capture, clear_cache_for
    from swaplab.scenario import load_scenario

    scn = load_scenario("full-swap-oom-lowered")
    clear_cache_for(scn, "6.1+hugh-scan", "none", 100)  # really boot, no cached repeat
    ds = capture(scn, "6.1+hugh-scan", repeats=1, trace="none")
    row = kbuild.policy_summary(ds).iloc[0]
    assert row["orphans_before"] > 12288, row.to_dict()  # the scenario did make its orphans
    assert row["memcg_oom_kill"] == 0, row.to_dict()
    assert row["last_scans"] >= 1 and row["last_freed"] > 1000, row.to_dict()


def test_dmesg_splats_finds_lockdep_and_debug_vm_but_not_oom_reports():
    oom_report = """\
[    5.1] swapwl invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[    5.1] Call Trace:
[    5.1]  dump_stack_lvl+0x44/0x5c
[    5.1] memory: usage 65536kB, limit 65536kB, failcnt 225
[    5.1] Memory cgroup out of memory: Killed process 73 (swapwl)
[    5.2] swap_orphan_scan: memcg charge (memcg subtree): 65535 slots, 12288 candidates
"""
    splat = """\
[    6.0] WARNING: possible circular locking dependency detected
[    6.1] BUG: sleeping function called from invalid context at mm/swapfile.c:3861
[    6.2] page dumped because: VM_BUG_ON_FOLIO(!folio_test_locked(folio))
"""
    assert kbuild.dmesg_splats(oom_report) == []
    assert len(kbuild.dmesg_splats(oom_report + splat)) == 3

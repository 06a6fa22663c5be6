"""Kernel pins and the choice of package when a pin is gone from the archive.

The apt index here is a small in-memory table shaped like `apt-cache show` records (the real
fetch is exercised by the QEMU smoke test, which downloads 6.1 when the cache is cold).
"""

from __future__ import annotations

import re

import pytest

from swaplab.capture import kernels as K


class _Index:
    """Packages records: name -> list of {Package, Version, SHA256}."""

    def __init__(self, records: dict[str, list[str]]):
        self.records = {name: [{"Package": name, "Version": v, "SHA256": f"sha-{name}-{v}"}
                               for v in versions] for name, versions in records.items()}

    def show(self, package, version=None):
        recs = [r for r in self.records.get(package, []) if version in (None, r["Version"])]
        return max(recs, key=lambda r: K.version_key(r["Version"])) if recs else None

    def names(self, regex):
        return [n for n in self.records if re.match(regex, n)]


def test_versions_pin_three_debian_kernels_with_sha256():
    spec = K._versions()
    assert list(spec) == ["6.1", "6.12", "7"]
    for name, s in spec.items():
        assert s["pin"], name
        for pin in s["pin"]:
            assert re.fullmatch(r"[0-9a-f]{64}", pin["sha256"]), pin
            assert s["release"] in pin["package"], (name, pin)
        assert re.match(s["fallback"], s["packages"][0].format(release=s["release"]))


def test_pinned_version_is_used_when_present():
    spec = K._versions()["6.1"]
    idx = _Index({"linux-image-6.1.0-56-cloud-amd64": ["6.1.192-2"],
                  "linux-image-6.1.0-57-cloud-amd64": ["6.1.193-1"]})
    release, pkgs, fell_back = K._plan("6.1", spec, idx)
    assert (release, fell_back) == ("6.1.0-56-cloud-amd64", False)
    assert pkgs[0]["sha256"] == spec["pin"][0]["sha256"]


def test_gone_pin_falls_back_to_newest_of_the_series():
    # 6.1.0-100 sorts after 6.1.0-57 (numbers compare as numbers), 6.12 is another series
    spec = K._versions()["6.1"]
    idx = _Index({"linux-image-6.1.0-57-cloud-amd64": ["6.1.193-1"],
                  "linux-image-6.1.0-100-cloud-amd64": ["6.1.250-1"],
                  "linux-image-6.12.117+deb13-cloud-amd64": ["6.12.117-1"]})
    release, pkgs, fell_back = K._plan("6.1", spec, idx)
    assert fell_back and release == "6.1.0-100-cloud-amd64"
    assert pkgs == [{"package": "linux-image-6.1.0-100-cloud-amd64", "version": "6.1.250-1",
                     "sha256": "sha-linux-image-6.1.0-100-cloud-amd64-6.1.250-1"}]


def test_sid_fallback_takes_binary_modules_and_base_of_one_release():
    spec = K._versions()["7"]
    rel = "7.3.1+deb14-cloud-amd64"
    idx = _Index({f"linux-binary-{rel}": ["7.3.1-1"], f"linux-modules-{rel}": ["7.3.1-1"],
                  f"linux-base-{rel}": ["7.3.1-1"]})
    release, pkgs, fell_back = K._plan("7", spec, idx)
    assert fell_back and release == rel
    assert [p["package"] for p in pkgs] == [f"linux-binary-{rel}", f"linux-modules-{rel}",
                                            f"linux-base-{rel}"]


def test_nothing_in_the_series_is_a_clear_error():
    spec = K._versions()["6.12"]
    with pytest.raises(K.CaptureError, match="gone from the archive and nothing matches"):
        K._plan("6.12", spec, _Index({}))


def test_unfetched_kernel_without_network_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("SWAPLAB_CACHE", str(tmp_path))
    with pytest.raises(K.CaptureError, match="is not in .*run `swaplab capture` once"):
        K.resolve_kernel("6.12", fetch=False)


def test_unknown_name_with_plus_goes_to_kbuild():
    # "+" names are built kernels: an unknown patch is kbuild's one-line error, not ours
    from swaplab.errors import SwaplabError

    with pytest.raises(SwaplabError) as err:
        K.resolve_kernel("6.1+no-such-patch")
    assert "\n" not in str(err.value) and "no-such-patch" in str(err.value)

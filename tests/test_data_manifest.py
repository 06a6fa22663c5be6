"""The shipped data: every dataset listed in its folder's manifest, intact, within budget."""

from __future__ import annotations

import hashlib

from swaplab.capture.traces import MANIFEST_NAME, read_manifest
from swaplab.paths import data_dir

BUDGET_BYTES = 150 * 2**20  # data/ holds compact processed datasets only


def test_every_dataset_is_in_a_manifest_with_its_hash():
    files = sorted(data_dir().rglob("*.nc"))
    assert files
    for path in files:
        manifest = path.parent / MANIFEST_NAME
        assert manifest.exists(), f"{path.parent} has datasets but no {MANIFEST_NAME}"
        entry = read_manifest(path.parent)["files"].get(path.name)
        assert entry is not None, f"{path} is not in {manifest}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["file_sha256"], path


def test_data_within_budget():
    total = sum(p.stat().st_size for p in data_dir().rglob("*") if p.is_file())
    assert total <= BUDGET_BYTES, f"data/ is {total / 2**20:.1f} MiB > 150 MiB"

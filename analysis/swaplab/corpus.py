"""The validation corpus: generated scenarios captured on the kernels, split in two halves.

Layout (``data/validation/``): ``scenarios/<name>.toml`` (from ``swaplab scenarios generate``),
``<name>__<kernel>.nc`` (captures, ``repeat`` dim) and ``MANIFEST.json`` whose entries carry
``split``.  The split is a fixed rule on the scenario's hash, decided before any capture or
fit: :func:`split_of`.  Calibration may read only the ``calibration`` half; ``swaplab validate``
scores only the ``validation`` half.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swaplab.errors import SwaplabError
from swaplab.scenario import Scenario, load_scenario

__all__ = ["SPLITS", "CorpusError", "corpus_files", "corpus_scenarios", "split_of"]

SPLITS = ("calibration", "validation")


class CorpusError(SwaplabError, ValueError):
    """A corpus folder or split request is invalid; the message is one line."""


def split_of(scn: Scenario | str) -> str:
    """``"calibration"`` if the first 32 bits of the scenario's sha256 are even, else
    ``"validation"`` (a scenario or its sha256 hex digest)."""
    sha = scn if isinstance(scn, str) else scn.sha256
    return SPLITS[int(sha[:8], 16) % 2]


def corpus_scenarios(folder: Path) -> list[Scenario]:
    """The scenarios of a corpus (``folder/scenarios/*.toml``, or ``folder`` itself)."""
    folder = Path(folder)
    d = folder / "scenarios" if (folder / "scenarios").is_dir() else folder
    files = sorted(d.glob("*.toml"))
    if not files:
        raise CorpusError(f"{folder}: no scenario files (*.toml) in {d}")
    return [load_scenario(p) for p in files]


def corpus_files(folder: Path, split: str, kernel: str | None = None) -> list[dict[str, Any]]:
    """Manifest entries of one split (and kernel), each with ``path``; split-checked.

    Raises :class:`CorpusError` if an entry's recorded split disagrees with the rule (a
    corpus edited by hand), so no caller can mix the halves.
    """
    from swaplab.capture.traces import read_manifest

    if split not in SPLITS:
        raise CorpusError(f"split {split!r}: allowed: {', '.join(SPLITS)}")
    folder = Path(folder)
    out = []
    for fname, entry in sorted(read_manifest(folder)["files"].items()):
        rule = split_of(entry["scenario_sha256"])
        if entry.get("split", rule) != rule:
            raise CorpusError(f"{folder / fname}: manifest split {entry.get('split')!r} "
                              f"disagrees with the hash rule ({rule!r})")
        if rule == split and (kernel is None or entry["kernel"] == kernel):
            out.append({**entry, "split": rule, "path": folder / fname})
    return out

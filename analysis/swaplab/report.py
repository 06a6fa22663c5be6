"""The report: helpers notebook 04 uses, and the HTML rendering (no code cells)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

__all__ = ["figure", "open_stores", "render_report"]


def open_stores(directory: str | Path) -> dict[str, xr.Dataset]:
    """Every complete sweep store in ``directory`` by sweep name (``policies.zarr`` ->
    ``"policies"``); stores with chunks still missing are left out."""
    from swaplab.sweep import open_store

    d = Path(directory)
    out: dict[str, xr.Dataset] = {}
    for p in sorted(d.glob("*.zarr")) if d.is_dir() else []:
        try:
            ds = open_store(p)
        except (OSError, ValueError, KeyError):
            continue
        if "chunk_done" in ds and bool(ds["chunk_done"].all()):
            out[p.stem] = ds
    return out


def figure(fig: Any, name: str, figures_dir: str | Path | None) -> Path | None:
    """Save a report figure as PNG in ``figures_dir`` (if given); return its path."""
    from swaplab.plots import save_figure

    return save_figure(fig, figures_dir, name) if figures_dir else None


def render_report(notebook: str | Path, html: str | Path, title: str = "swaplab report") -> Path:
    """Render an executed notebook to standalone HTML without code cells or prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" not in c.metadata.get("tags", [])
                and "injected-parameters" not in c.metadata.get("tags", [])]
    nb.metadata["title"] = title
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    out = Path(html)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(body)
    tmp.replace(out)
    return out

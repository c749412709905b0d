"""An MkDocs hook: the notebooks of notebooks/ as pages of the site, read where they are.

The notebook tests execute notebooks/*.ipynb; the site shows the same files (mkdocs-jupyter,
not executed) under notebooks/, without a copy that could drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files


# Before mkdocs-jupyter's own on_files, which turns .ipynb files into pages.
@event_priority(100)
def on_files(files: Files, config: Any) -> Files:
    root = Path(config["config_file_path"]).parent
    for notebook in sorted((root / "notebooks").glob("*.ipynb")):
        files.append(File(f"notebooks/{notebook.name}", src_dir=str(root), dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files

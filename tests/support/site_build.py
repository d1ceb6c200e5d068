"""A built site in miniature: what `playground.site_server` needs to serve, nothing more."""

from __future__ import annotations

from pathlib import Path


def tiny_build(folder: Path) -> Path:
    """Write index.html, one script and a wasm runtime file into ``folder``; return it."""
    (folder / "assets").mkdir()
    (folder / "ort").mkdir()
    (folder / "index.html").write_text("<!doctype html><div id=root></div>")
    (folder / "assets" / "index-abc.js").write_text("console.log(1)")
    (folder / "ort" / "ort-wasm-simd-threaded.wasm").write_bytes(b"\0asm\1\0\0\0")
    return folder

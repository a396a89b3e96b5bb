"""A team's documents as a corpus: a folder (or a glob) of PDF, DOCX, PPTX, HTML, Markdown and text files.

Converted to text by markitdown (chosen over docling and unstructured: bench/README.md, "Converting
documents"); Markdown and text are read as they are. One document per file, its id the path relative to
the folder; a file that cannot be read is named in one warning line and skipped, never silently.
"""

from __future__ import annotations

import glob
import hashlib
import sys
from pathlib import Path

from harness.data import Document
from harness.errors import ConfigError
from harness.files import atomic_write

PLAIN = {".md", ".markdown", ".txt", ".text"}
CONVERTED = {".pdf", ".docx", ".pptx", ".html", ".htm", ".xlsx"}
SUFFIXES = PLAIN | CONVERTED


def is_folder_corpus(value: str) -> bool:
    """`corpus:` names a folder or a glob rather than a corpus.jsonl."""
    return not value.endswith(".jsonl")


def corpus_files(root: Path, pattern: str | None) -> list[Path]:
    """The supported files under `root` (recursively), or those matching the glob, in a stable order."""
    found = ([Path(p) for p in glob.glob(str(root / pattern), recursive=True)] if pattern
             else [p for p in root.rglob("*")])
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith("."))


def files_hash(digests: list[tuple[str, str]]) -> str:
    """One hash over every file's relative path and content digest: a changed, added or removed file changes it."""
    h = hashlib.sha256()
    for rel, digest in digests:
        h.update(rel.encode() + b"\0" + digest.encode())
    return h.hexdigest()


def _converter(suffix: str):  # noqa: ANN202 - a markitdown converter, imported on first use
    """The converter for this format only: markitdown's own dispatch falls back to reading a damaged PDF or
    DOCX as plain text (measured: a broken .docx became a line of CJK characters), so a bad file would
    enter the corpus as noise instead of being named."""
    from markitdown import converters as c

    return {".pdf": c.PdfConverter, ".docx": c.DocxConverter, ".pptx": c.PptxConverter, ".html": c.HtmlConverter,
            ".htm": c.HtmlConverter, ".xlsx": c.XlsxConverter}[suffix]()


def to_text(path: Path) -> str:
    """The file's text (Markdown for converted formats); raises on a file that cannot be read."""
    suffix = path.suffix.lower()
    if suffix in PLAIN:
        return path.read_text(encoding="utf-8")
    from markitdown import StreamInfo

    with path.open("rb") as f:
        return _converter(suffix).convert(f, StreamInfo(extension=suffix, filename=path.name)).markdown


def _title(path: Path, text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line and not line.startswith("<!--"):  # markitdown marks slides with HTML comments
            return line[:120]
    return path.stem


CONVERTER_VERSION = "markitdown/per-format/v1"  # enters the text cache's key: change it when conversion changes


def cached_text(path: Path, digest: str) -> str:
    """to_text, kept per file content (`digest`, the sha256 of its bytes) in HARNESS_CACHE_DIR/documents: a
    scenario with thousands of PDFs is converted once, not at every load (`scenarios list`, `validate`, runs)."""
    from harness.models import cache_dir

    if path.suffix.lower() in PLAIN:
        return path.read_text(encoding="utf-8")  # nothing to convert, nothing to cache
    key = hashlib.sha256(f"{CONVERTER_VERSION}|{path.suffix.lower()}|{digest}".encode()).hexdigest()
    entry = cache_dir() / "documents" / f"{key}.md"
    if entry.is_file():
        return entry.read_text(encoding="utf-8")
    text = to_text(path)
    atomic_write(entry, text)
    return text


def read_folder(root: Path, pattern: str | None = None, shown: str = "corpus") -> tuple[list[Document], str]:
    """The folder's documents and the hash of its files; unreadable or empty files are warned about and skipped."""
    docs, digests = [], []
    for p in corpus_files(root, pattern):
        rel = str(p.relative_to(root))
        digest = hashlib.sha256(p.read_bytes()).hexdigest()  # read once: for the corpus hash and the text cache
        digests.append((rel, digest))
        try:
            text = cached_text(p, digest).strip()
        except Exception as exc:  # noqa: BLE001 - any converter failure: skip the file and say so
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            print(f"warning: {shown}: {rel}: cannot be read ({type(exc).__name__}: {reason}); skipped",
                  file=sys.stderr, flush=True)
            continue
        if not text:
            print(f"warning: {shown}: {rel}: no text found (a scanned PDF needs OCR first); skipped",
                  file=sys.stderr, flush=True)
            continue
        docs.append(Document(id=rel, title=_title(p, text), text=text))
    if not docs:
        raise ConfigError(f"{shown}: no readable documents ({', '.join(sorted(SUFFIXES))}) under {root}"
                          + (f" matching {pattern}" if pattern else ""))
    return docs, files_hash(digests)

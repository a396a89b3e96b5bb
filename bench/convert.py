"""Converters for a folder corpus, side by side: seconds per file and text quality (the share of the
example's known sentences found verbatim, whitespace-normalised) on the helpdesk example's six formats.

  python bench/convert.py markitdown        # in harness's venv
  python bench/convert.py unstructured      # in a venv with unstructured[pdf,docx,pptx]
  python bench/convert.py docling           # in a venv with docling
"""

from __future__ import annotations

import importlib.util
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("gen", ROOT / "scenarios" / "examples" / "make_helpdesk_docs.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
DOCS = ROOT / "scenarios" / "examples" / "helpdesk" / "docs"
EXPECT = {"warranty.pdf": gen.WARRANTY, "maintenance.docx": gen.MAINTENANCE,
          "error_codes.pptx": [s for pair in gen.ERROR_CODES for s in pair],
          "returns.html": re.findall(r"<p>(.*?)</p>", gen.RETURNS)}


def convert(name: str):  # noqa: ANN201
    if name == "markitdown":
        sys.path.insert(0, str(ROOT))
        from harness.documents import to_text

        return to_text
    if name == "unstructured":
        from unstructured.partition.auto import partition

        return lambda p: "\n".join(el.text for el in partition(filename=str(p), strategy="fast"))
    if name == "docling":
        from docling.document_converter import DocumentConverter

        conv = DocumentConverter()
        return lambda p: conv.convert(str(p)).document.export_to_markdown()
    raise SystemExit(f"unknown converter {name}")


def norm(text: str) -> str:
    return " ".join(text.replace("\\", "").split())


def main() -> None:
    name = sys.argv[1]
    t0 = time.perf_counter()
    fn = convert(name)
    print(f"{name}: import {time.perf_counter() - t0:.2f} s")
    for fname, sentences in EXPECT.items():
        times, text, err = [], "", ""
        for _ in range(3):
            t = time.perf_counter()
            try:
                text = fn(DOCS / fname)
            except Exception as exc:  # noqa: BLE001 - a bench reports what failed
                err = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                break
            times.append(time.perf_counter() - t)
        found = sum(norm(s) in norm(text) for s in sentences)
        print(f"  {fname:18s} " + (f"FAILED {err}" if err else
              f"{statistics.median(times) * 1000:8.1f} ms (median of 3)  sentences found {found}/{len(sentences)}"))


if __name__ == "__main__":
    main()

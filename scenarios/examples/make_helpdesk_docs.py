"""Write the helpdesk example's knowledge base: one folder of mixed formats (PDF, DOCX, PPTX, HTML,
Markdown, text), made with libraries here, never downloaded. Usage: python make_helpdesk_docs.py [OUT_DIR]

The facts are invented (Kestrel Pumps); each file holds the kind of text a help desk really has.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

FIXED = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

WARRANTY = [
    "Warranty policy",
    "Kestrel KP-200 pumps carry a 36-month warranty from the date of installation.",
    "The KP-400 series carries a 24-month warranty from the date of installation.",
    "A warranty claim needs the pump's serial number and proof of the installation date.",
    "Seals and impellers are wear parts: they are covered for 12 months only.",
]
MAINTENANCE = [
    "Maintenance schedule",
    "Replace the KP-200 mechanical seal every 4,000 operating hours.",
    "Inspect the impeller every 2,000 operating hours and replace it when the vanes show pitting.",
    "Grease the bearings with Kestrel SL-5 grease every 1,000 hours; never mix it with lithium grease.",
]
ERROR_CODES = [
    ("Error codes on the KP controller", "What the display shows, and what to do first"),
    ("E14: dry running", "Stop the pump at once and check that the inlet valve is open."),
    ("E22: motor overtemperature", "Let the motor cool for 30 minutes and check the ventilation grille."),
    ("E31: pressure sensor fault", "Replace the PS-9 pressure sensor; the pump runs on in safe mode meanwhile."),
]
RETURNS = """<html><head><title>Returns and RMA</title></head><body>
<h1>Returns and RMA</h1>
<p>Unused spare parts may be returned within 30 days of delivery.</p>
<p>Every return needs an RMA number, issued by the help desk before the part is shipped back.</p>
<p>A restocking fee of 15% of the part price applies to returns that are not warranty claims.</p>
</body></html>
"""
CONTACTS = """# Help desk contacts

- Help desk hours: Monday to Friday, 07:00 to 18:00 CET.
- Emergency line for stopped production: +49 30 555 0142, staffed 24/7.
- Tickets by e-mail to service@kestrel-pumps.example are answered within one working day.
"""
SHIPPING = """Shipping of spare parts

Spare parts ship from the Leipzig warehouse.
Orders placed before 14:00 CET ship the same working day.
Express delivery within Germany arrives the next working day and costs 29 EUR.
"""


def write_pdf(path: Path, lines: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(FIXED)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in lines[1:]:
        pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_docx(path: Path, lines: list[str]) -> None:
    import docx

    doc = docx.Document()
    doc.core_properties.created = doc.core_properties.modified = FIXED.replace(tzinfo=None)
    doc.add_heading(lines[0], level=1)
    for line in lines[1:]:
        doc.add_paragraph(line)
    doc.save(str(path))


def write_pptx(path: Path, slides: list[tuple[str, str]]) -> None:
    from pptx import Presentation

    prs = Presentation()
    for title, body in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    prs.save(str(path))


def make(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    write_pdf(out / "warranty.pdf", WARRANTY)
    write_docx(out / "maintenance.docx", MAINTENANCE)
    write_pptx(out / "error_codes.pptx", ERROR_CODES)
    (out / "returns.html").write_text(RETURNS, encoding="utf-8")
    (out / "contacts.md").write_text(CONTACTS, encoding="utf-8")
    (out / "shipping.txt").write_text(SHIPPING, encoding="utf-8")
    return sorted(out.iterdir())


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "helpdesk" / "docs"
    for p in make(target):
        print(p)

"""Documents made for the tests with the libraries (and the office suite) that staff's files come from.

Each maker returns the file's bytes; the known text is in the arguments, so a test can
compare what the loader reads with what was written.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

REPORT = [
    ("heading", "1. Contexte de la coopération"),
    ("p", "Le CHU de Bordeaux coopère avec l'hôpital de Xiamen depuis 2005."),
    ("table", [["Année", "Internes", "Budget"], ["2024", "42", "15 000 €"]]),
    ("heading", "2. Résultats"),
    ("p", "Quarante-deux internes ont été accueillis en 2024."),
]

SLIDES = [
    ("Programme franco-vietnamien", ["Hôpital Bach Mai, Hanoï", "Formation des urgentistes"], "Rappeler le calendrier 2025."),
    ("Budget", ["Crédits du ministère : 120 000 €"], "Le budget est voté en mars."),
    ("Prochaines étapes", ["Mission d'évaluation à Hué en juin"], ""),
]


def make_docx(blocks: list[tuple[str, object]] = REPORT, title: str = "Rapport de coopération") -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    for kind, value in blocks:
        if kind == "heading":
            document.add_heading(str(value), level=1)
        elif kind == "table":
            rows = value  # type: ignore[assignment]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))  # type: ignore[arg-type]
            for r, row in enumerate(rows):  # type: ignore[arg-type]
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(str(value))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def repeated_docx(paragraph: str, count: int) -> bytes:
    """A .docx of ``count`` copies of one paragraph, its XML written directly (python-docx adds ~5,000 a second)."""
    import html

    valid = make_docx([])
    with zipfile.ZipFile(io.BytesIO(valid)) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = parts["word/document.xml"].decode()
    body = xml.index("<w:body>") + len("<w:body>")
    one = f'<w:p><w:r><w:t xml:space="preserve">{html.escape(paragraph)}</w:t></w:r></w:p>'
    parts["word/document.xml"] = (xml[:body] + one * count + xml[body:]).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def make_pptx(slides: list[tuple[str, list[str], str]] = SLIDES, table: list[list[str]] | None = None) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for title, bullets, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    if table:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        slide.shapes.title.text = "Indicateurs"
        shape = slide.shapes.add_table(len(table), len(table[0]), Inches(1), Inches(2), Inches(6), Inches(2))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                shape.table.cell(r, c).text = cell
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def make_odt_odfpy(blocks: list[tuple[str, object]] = REPORT) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P

    document = OpenDocumentText()
    for kind, value in blocks:
        if kind == "heading":
            document.text.addElement(H(outlinelevel=1, text=str(value)))
        elif kind == "table":
            rows = value
            table = Table(name="Tableau1")
            table.addElement(TableColumn(numbercolumnsrepeated=len(rows[0])))  # type: ignore[index]
            for row in rows:  # type: ignore[attr-defined]
                tr = TableRow()
                for cell in row:
                    tc = TableCell()
                    tc.addElement(P(text=cell))
                    tr.addElement(tc)
                table.addElement(tr)
            document.text.addElement(table)
        else:
            document.text.addElement(P(text=str(value)))
    items = List()
    for text in ("Premier point de la liste", "Second point de la liste"):
        item = ListItem()
        item.addElement(P(text=text))
        items.addElement(item)
    document.text.addElement(items)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


_ODF_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
}


def make_odt_pandoc_like(blocks: list[tuple[str, object]] = REPORT, title: str = "Rapport de coopération") -> bytes:
    """A minimal .odt laid out as pandoc writes it (2.17, Debian 12), without pandoc.

    What matters to a reader: content.xml is indented (a line break sits between
    <office:body> and <office:text>), words carry automatic styles (spans, list paragraphs),
    the title is a paragraph of the "Title" style, and styles.xml declares its namespaces
    one per line (its reference document's), which odfpy's namespace repair declares twice.
    """
    from xml.sax.saxutils import escape

    def cell(text: str, style: str) -> str:
        return (
            '      <table:table-cell office:value-type="string">\n'
            f'        <text:p text:style-name="{style}">{escape(text)}</text:p>\n'
            "      </table:table-cell>\n"
        )

    body = [f'<text:p text:style-name="Title">{escape(title)}</text:p>\n']
    for kind, value in blocks:
        if kind == "heading":
            anchor = str(value).lower().replace(" ", "-")
            body.append(
                f'<text:h text:style-name="Heading_20_1" text:outline-level="1"><text:bookmark-start text:name="{anchor}" />'
                f'{escape(str(value))}<text:bookmark-end text:name="{anchor}" /></text:h>\n'
            )
        elif kind == "table":
            rows: list[list[str]] = value  # type: ignore[assignment]
            body.append('<table:table table:name="Table1" table:style-name="Table1">\n')
            body.append('  <table:table-column table:style-name="Table1.A" />\n' * len(rows[0]))
            body.append("  <table:table-header-rows>\n    <table:table-row>\n")
            body += [cell(c, "Table_20_Heading") for c in rows[0]]
            body.append("    </table:table-row>\n  </table:table-header-rows>\n")
            for row in rows[1:]:
                body.append(
                    "  <table:table-row>\n" + "".join(cell(c, "Table_20_Contents") for c in row) + "  </table:table-row>\n"
                )
            body.append("</table:table>\n")
        else:
            first, _, rest = escape(str(value)).partition(" ")
            body.append(
                f'<text:p text:style-name="First_20_paragraph"><text:span text:style-name="T1">{first}</text:span> {rest}</text:p>\n'
            )
    body.append('<text:list text:style-name="L1">\n')
    for item in ("Premier point de la liste", "Second point de la liste"):
        body.append(f'  <text:list-item>\n    <text:p text:style-name="P1">{item}</text:p>\n  </text:list-item>\n')
    body.append("</text:list>\n")
    declarations = " ".join(f'xmlns:{k}="{v}"' for k, v in _ODF_NS.items())
    content = (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        f'<office:document-content {declarations} office:version="1.2">\n'
        "  <office:automatic-styles>\n"
        '    <text:list-style style:name="L1"><text:list-level-style-bullet text:level="1" text:bullet-char="•" /></text:list-style>\n'
        '    <style:style style:name="T1" style:family="text"><style:text-properties fo:font-weight="bold" /></style:style>\n'
        '    <style:style style:name="P1" style:family="paragraph" style:parent-style-name="Text_20_body" style:list-style-name="L1" />\n'
        "  </office:automatic-styles>\n"
        "<office:body>\n<office:text>\n" + "".join(body) + "</office:text>\n</office:body>\n</office:document-content>\n"
    )
    styles = (
        '<?xml version="1.0" encoding="utf-8"?>\n<office:document-styles '
        + "\n".join(f'xmlns:{k}="{v}"' for k, v in _ODF_NS.items())
        + ' office:version="1.2">\n  <office:styles>\n'
        '    <style:style style:name="Title" style:family="paragraph" style:class="chapter" />\n'
        '    <style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph" />\n'
        "  </office:styles>\n  <office:master-styles>\n"
        '    <style:master-page style:name="Standard"><style:footer><text:p><text:page-number text:select-page="current">1'
        "</text:page-number></text:p></style:footer></style:master-page>\n"
        "  </office:master-styles>\n</office:document-styles>\n"
    )
    meta = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<office:document-meta {declarations} office:version="1.2">\n  <office:meta>\n'
        f"    <meta:generator>Pandoc/2.17.1.1</meta:generator>\n    <dc:title>{escape(title)}</dc:title>\n"
        "  </office:meta>\n</office:document-meta>\n"
    )
    entries = "".join(
        f'  <manifest:file-entry manifest:media-type="application/xml" manifest:full-path="{name}" manifest:version="1.2" />\n'
        for name in ("content.xml", "styles.xml", "meta.xml")
    )
    manifest = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">\n'
        '  <manifest:file-entry manifest:media-type="application/vnd.oasis.opendocument.text" manifest:full-path="/" />\n'
        f"{entries}</manifest:manifest>\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        for name, part in (
            ("META-INF/manifest.xml", manifest),
            ("meta.xml", meta),
            ("content.xml", content),
            ("styles.xml", styles),
        ):
            archive.writestr(name, part.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def pandoc() -> str | None:
    return shutil.which("pandoc")


def convert_with_pandoc(markdown: str, target: str = "odt") -> bytes:
    """Convert Markdown with the real pandoc (Debian's package); straight apostrophes stay straight (no "smart" quotes)."""
    exe = pandoc()
    if exe is None:
        raise RuntimeError("pandoc is not installed: run scripts/setup-test.sh")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"document.{target}"
        subprocess.run(
            [exe, "--from", "markdown-smart", "--output", str(out)],
            input=markdown.encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
        return out.read_bytes()


def make_xlsx(
    sheets: dict[str, list[list[object]]],
    cached: dict[tuple[str, str], object] | None = None,
    formats: dict[tuple[str, str], str] | None = None,
    hidden: Sequence[str] = (),
    title: str = "",
) -> bytes:
    """An .xlsx written with openpyxl: rows from A1 (None: an empty cell; "=..." a formula), number formats by
    cell, hidden sheets. openpyxl saves formulas without their value: ``cached`` puts in the value that Excel
    would have saved with each formula, as in a workbook saved by Excel."""
    import re

    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    for (name, ref), number_format in (formats or {}).items():
        workbook[name][ref].number_format = number_format
    if title:
        workbook.properties.title = title
    buf = io.BytesIO()
    workbook.save(buf)
    if not cached:
        return buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    for (name, ref), value in cached.items():
        part = f"xl/worksheets/sheet{list(sheets).index(name) + 1}.xml"
        xml = parts[part].decode()
        xml, found = re.subn(rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)<v\s*/?>(?:</v>)?', rf"\1\2<v>{value}</v>", xml)
        assert found == 1, (ref, xml)
        parts[part] = xml.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    return out.getvalue()


def make_ods(
    sheets: dict[str, list[list[object]]], hidden: Sequence[str] = (), repeated: dict[str, dict[int, int]] | None = None
) -> bytes:
    """An .ods written with odfpy, laid out as LibreOffice writes one.

    A cell is None (empty), a string, a number (float), a ``datetime.date``, ("formula", formula,
    cached value, display text), ("percentage", value, display text) or ("note", text, comment); every typed cell carries its display
    text (as LibreOffice writes it: « 31/12/2024 »). Each row ends with its empty cells repeated to the
    sheet's last column, each sheet with an empty row repeated to its millionth row; ``repeated``
    stores a row once with a repeat count ({sheet: {row index: count}}), as LibreOffice does for
    identical consecutive rows.
    """
    import datetime as dt

    from odf.office import Annotation
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style, TableProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    hidden_style = Style(name="ta_hidden", family="table")
    hidden_style.addElement(TableProperties(display="false"))
    document.automaticstyles.addElement(hidden_style)
    for name, rows in sheets.items():
        table = Table(name=name, stylename=hidden_style) if name in hidden else Table(name=name)
        table.addElement(TableColumn(numbercolumnsrepeated=16384))
        for index, row in enumerate(rows):
            count = (repeated or {}).get(name, {}).get(index, 1)
            tr = TableRow(numberrowsrepeated=count) if count > 1 else TableRow()
            for value in row:
                if value is None:
                    tr.addElement(TableCell())
                    continue
                if isinstance(value, tuple) and value[0] == "formula":
                    _, formula, cached, shown = value
                    cell = TableCell(formula=f"of:={formula}", valuetype="float", value=cached)
                    cell.addElement(P(text=shown))
                elif isinstance(value, tuple) and value[0] == "percentage":
                    _, number, shown = value
                    cell = TableCell(valuetype="percentage", value=number)
                    cell.addElement(P(text=shown))
                elif isinstance(value, tuple) and value[0] == "note":
                    _, text, comment = value
                    cell = TableCell(valuetype="string")
                    note = Annotation()
                    note.addElement(P(text=comment))
                    cell.addElement(note)
                    cell.addElement(P(text=text))
                elif isinstance(value, dt.date):
                    cell = TableCell(valuetype="date", datevalue=value.isoformat())
                    cell.addElement(P(text=value.strftime("%d/%m/%Y")))
                elif isinstance(value, float):
                    cell = TableCell(valuetype="float", value=value)
                    cell.addElement(P(text=f"{value:g}"))
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=str(value)))
                tr.addElement(cell)
            tr.addElement(TableCell(numbercolumnsrepeated=16384 - len(row)))
            table.addElement(tr)
        empty = TableRow(numberrowsrepeated=1_048_576 - len(rows))
        empty.addElement(TableCell(numbercolumnsrepeated=16384))
        table.addElement(empty)
        document.spreadsheet.addElement(table)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(data: bytes, suffix: str, target: str) -> bytes:
    """Convert with a real office suite (LibreOffice, headless, in a private profile)."""
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: run scripts/setup-test.sh")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"source{suffix}"
        src.write_bytes(data)
        profile = Path(tmp) / "profile"
        subprocess.run(
            [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target, "--outdir", tmp, str(src)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        return (Path(tmp) / f"source.{target.split(':')[0]}").read_bytes()


EPUB_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="{opf}" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def zip_epub(members: dict[str, str | bytes], opf: str | None = None) -> bytes:
    """An EPUB archive as the specification lays it out: ``mimetype`` first and stored, then ``members`` deflated.

    With ``opf``, a META-INF/container.xml naming that package file is added (before the members).
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")  # a ZipInfo is stored, not deflated
        if opf is not None:
            archive.writestr("META-INF/container.xml", EPUB_CONTAINER.format(opf=opf), zipfile.ZIP_DEFLATED)
        for name, content in members.items():
            archive.writestr(name, content, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def epub_opf(title: str, items: list[tuple[str, str, str]], spine: list[str], toc: str = "ncx", version: str = "3.0") -> str:
    """A package file: ``items`` as (id, href, media type[ properties]), ``spine`` the ids in reading order."""
    manifest = []
    for item_id, href, kind in items:
        media_type, _, properties = kind.partition(" ")
        extra = f' properties="{properties}"' if properties else ""
        manifest.append(f'    <item id="{item_id}" href="{href}" media-type="{media_type}"{extra}/>')
    itemrefs = "".join(f'    <itemref idref="{i}"/>\n' for i in spine)
    toc_attribute = f' toc="{toc}"' if toc else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<package xmlns="http://www.idpf.org/2007/opf" version="{version}" unique-identifier="uid">\n'
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        '    <dc:identifier id="uid">urn:uuid:12345678-0000-4000-8000-000000000000</dc:identifier>\n'
        f"    <dc:title>{escape(title)}</dc:title>\n"
        "    <dc:language>fr</dc:language>\n"
        "  </metadata>\n"
        "  <manifest>\n" + "\n".join(manifest) + "\n  </manifest>\n"
        f"  <spine{toc_attribute}>\n{itemrefs}  </spine>\n"
        "</package>\n"
    )


def epub_ncx(title: str, points: list[tuple[str, str]]) -> str:
    """EPUB 2's table of contents: ``points`` as (label, src)."""
    nav_points = "".join(
        f'    <navPoint id="p{i}" playOrder="{i}"><navLabel><text>{escape(label)}</text></navLabel>'
        f'<content src="{src}"/></navPoint>\n'
        for i, (label, src) in enumerate(points, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" "http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">\n'
        '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">\n'
        f"  <docTitle><text>{escape(title)}</text></docTitle>\n"
        f"  <navMap>\n{nav_points}  </navMap>\n"
        "</ncx>\n"
    )


def epub_nav(title: str, links: list[tuple[str, str]]) -> str:
    """EPUB 3's navigation document: a <nav epub:type="toc"> of ``links`` as (title, href)."""
    items = "".join(f'        <li><a href="{href}">{escape(label)}</a></li>\n' for label, href in links)
    return xhtml(
        f'    <nav epub:type="toc" id="toc" role="doc-toc">\n      <h2>{escape(title)}</h2>\n'
        f"      <ol>\n{items}      </ol>\n    </nav>",
        title,
    )


def xhtml(body: str, title: str = "", declaration: bool = True) -> str:
    """An XHTML content document (``body`` is markup, written as is)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n' if declaration else ""
    return (
        f'{head}<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="fr" xml:lang="fr">\n'
        f"  <head><title>{escape(title)}</title></head>\n  <body>\n{body}\n  </body>\n</html>\n"
    )


def make_epub(chapters: list[tuple[str, str, str]], title: str = "Guide de la coopération hospitalière") -> bytes:
    """chapters: (table-of-contents title, heading in the page, paragraph).

    Laid out as EbookLib 0.20 wrote it (the former maker): EPUB/content.opf, an NCX and a navigation
    document, the navigation page first in the spine.
    """
    files = [f"chap{i}.xhtml" for i in range(1, len(chapters) + 1)]
    members = {
        "EPUB/content.opf": epub_opf(
            title,
            [(f"chapter_{i}", f, "application/xhtml+xml") for i, f in enumerate(files)]
            + [("ncx", "toc.ncx", "application/x-dtbncx+xml"), ("nav", "nav.xhtml", "application/xhtml+xml nav")],
            ["nav", *(f"chapter_{i}" for i in range(len(files)))],
        ),
        "EPUB/toc.ncx": epub_ncx(title, [(c[0], f) for c, f in zip(chapters, files, strict=True)]),
        "EPUB/nav.xhtml": epub_nav(title, [(c[0], f) for c, f in zip(chapters, files, strict=True)]),
    }
    for i, ((toc_title, heading, paragraph), file) in enumerate(zip(chapters, files, strict=True), start=1):
        body = f"    <h1>{heading}</h1>\n    <p>{paragraph}</p>\n    <p>Fin du <em>chapitre</em> {i}.</p>"
        members[f"EPUB/{file}"] = xhtml(body, toc_title)
    return zip_epub(members, opf="EPUB/content.opf")


def make_scanned_pdf(lines: list[str], dpi: int = 300) -> bytes:
    """A page as a scanner makes it: text drawn on an image, the image wrapped in a PDF, no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(8.27 * dpi), int(11.69 * dpi)  # A4
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), size=int(dpi / 72 * 13)) if FONT.exists() else ImageFont.load_default(size=54)
    y = dpi  # one-inch margin
    for line in lines:
        draw.text((dpi, y), line, fill=0, font=font)
        y += int(dpi / 72 * 22)
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=dpi)
    return buf.getvalue()


# -- hostile files ------------------------------------------------------------------------


def _zip_entry(name: str, raw: bytes, crc: int, size: int, offset: int) -> tuple[bytes, bytes]:
    encoded = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded), 0) + encoded
    central = (
        struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(raw), size, len(encoded), 0, 0, 0, 0, 0, offset
        )
        + encoded
    )
    return local + raw, central


def zip_bomb(valid: bytes, member: str, size: int = 3 * 1024**3) -> bytes:
    """The valid archive with ``member`` replaced by ``size`` bytes of zeros, deflated (a few MB on disk)."""
    block = 1 << 24
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # after a full flush the compressor starts afresh: every block of zeros deflates to the same bytes
    segment = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    raw = segment * (size // block) + compressor.flush(zlib.Z_FINISH)
    crc = 0
    zeros = bytes(block)
    for _ in range(size // block):
        crc = zlib.crc32(zeros, crc)
    entries: list[tuple[str, bytes, int, int]] = []
    with zipfile.ZipFile(io.BytesIO(valid)) as archive:
        for info in archive.infolist():
            if info.filename == member:
                entries.append((member, raw, crc, size))
            else:
                data = archive.read(info.filename)
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                entries.append((info.filename, c.compress(data) + c.flush(), zlib.crc32(data), len(data)))
    out, directory = b"", b""
    for name, body, entry_crc, entry_size in entries:
        local, central = _zip_entry(name, body, entry_crc, entry_size, len(out))
        out += local
        directory += central
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(out), 0)
    return out + directory + end


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF written by hand: ``objects`` are the bodies of objects 1, 2, ... (1 is the catalog), with a right xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_stream(content: bytes, dictionary: bytes = b"", compress: bool = False) -> bytes:
    """The body of a stream object (deflated when ``compress``)."""
    if compress:
        content = zlib.compress(content, 9)
        dictionary += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(content), dictionary) + content + b"\nendstream"


def looping_pdf() -> bytes:
    """A PDF whose page tree contains itself: a naive reader walks it for ever."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdf_stream(b""),
        ]
    )


def xobject_bomb_pdf(levels: int = 8, fanout: int = 10, text: bool = False, caption: str = "") -> bytes:
    """A one-page PDF of a few kilobytes that draws fanout ** levels strokes: a "billion laughs" of forms.

    Form 1 strokes ``fanout`` lines (writes a word ``fanout`` times with ``text``); form k draws
    form k-1 ``fanout`` times; the page draws the last form once. The page counts one object, so a
    count of the page's objects sees nothing wrong. ``caption`` (ASCII) is written on the page itself.
    """
    first = 4  # objects 1-3: catalog, page tree, page; then the page's content; then the forms
    content = 5
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
        b" /Resources << /XObject << /F %d 0 R >> /Font << /C << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
        % (first, content + levels - 1),
        pdf_stream((b"BT /C 12 Tf 1 0 0 1 40 800 Tm (%s) Tj ET " % caption.encode("ascii") if caption else b"") + b"q /F Do Q"),
    ]
    form = b" /Type /XObject /Subtype /Form /BBox [0 0 595 842]"
    if text:
        words = b"BT /T 10 Tf " + b"".join(b"1 0 0 1 %d %d Tm (mot) Tj " % (20 + i, 40 + 12 * i) for i in range(fanout)) + b"ET"
        font = b" /Resources << /Font << /T << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
        objects.append(pdf_stream(words, form + font))
    else:
        strokes = b"".join(b"%d 0 m %d 842 l " % (10 + i, 500 - i) for i in range(fanout)) + b"S"
        objects.append(pdf_stream(strokes, form))
    for level in range(1, levels):
        calls = b" ".join(b"q 1 0 0 1 %d 0 cm /F Do Q" % (i % 3) for i in range(fanout))
        objects.append(pdf_stream(calls, form + b" /Resources << /XObject << /F %d 0 R >> >>" % (content + level - 1)))
    return raw_pdf(objects)


def nested_html(depth: int = 2_000_000) -> bytes:
    """A web page whose elements nest millions deep, as a hostile generator writes it."""
    return b"<html><body>" + b"<div>" * depth + b"x" + b"</div>" * depth + b"</body></html>"


def write_bad_name(folder: Path) -> Path:
    """A file whose name is not UTF-8 (Latin-1 bytes, as an old system wrote it)."""
    raw = os.fsencode(folder) + b"/r\xe9union.txt"
    with open(raw, "wb") as fh:
        fh.write("Compte rendu de la réunion du comité de pilotage.".encode())
    return Path(os.fsdecode(raw))


def blank_pages_pdf(pages: int) -> bytes:
    """``pages`` blank pages sharing one empty content stream (20,000 pages: about 1.5 MB): an OCR page bomb."""
    first = 4  # objects 1-3: catalog, page tree, the shared content; then the pages
    kids = b" ".join(b"%d 0 R" % (first + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        pdf_stream(b""),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 3 0 R >>"] * pages
    return raw_pdf(objects)


def scanned_pages_pdf(lines: list[str], pages: int, dpi: int = 150) -> bytes:
    """``pages`` scanned pages (no text layer) that all show one image of ``lines``: many OCR pages in a small file."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = int(8.27 * dpi), int(11.69 * dpi)  # A4
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), size=int(dpi / 72 * 11)) if FONT.exists() else ImageFont.load_default(size=24)
    y = dpi // 2
    for line in lines:
        draw.text((dpi // 2, y), line, fill=0, font=font)
        y += int(dpi / 72 * 16)
    first = 5  # objects 1-4: catalog, page tree, the image, the content that draws it; then the pages
    kids = b" ".join(b"%d 0 R" % (first + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        pdf_stream(
            image.tobytes(),
            b" /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8" % (width, height),
            compress=True,
        ),
        pdf_stream(b"q 595 0 0 842 0 0 cm /Im Do Q"),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /Im 3 0 R >> >> >>"
    return raw_pdf(objects + [page] * pages)


def one_word_pdf(letters: int) -> bytes:
    """A page that prints one word of ``letters`` letters, deflated: a few hundred bytes of PDF.

    A PDF string holds at most 32,767 bytes for PDFium: the word is shown piece after piece.
    """
    pieces = [b"(" + b"a" * min(32_000, letters - i) + b") Tj " for i in range(0, letters, 32_000)]
    content = b"BT /T 1 Tf 20 800 Td " + b"".join(pieces) + b"ET"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /T << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
            pdf_stream(content, compress=True),
        ]
    )


def make_pdf(
    pages: Sequence[str | Sequence[str]],
    outline: Sequence[tuple[str, int]] = (),
    title: str = "",
    password: str | None = None,
    labels: Sequence[str] = (),
) -> bytes:
    """A real PDF written with pypdf: each page one line (a string) or several (a list of strings), drawn in
    Helvetica with WinAnsi encoding (French accents); bookmarks, a title, page labels (one per page, as
    Beamer writes them: the frame's number as the label's prefix) and a password when asked."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(width=595, height=842)
        ops = []
        for i, line in enumerate([lines] if isinstance(lines, str) else lines):
            if not line:
                continue
            safe = line.replace("\\", "").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"BT /F1 11 Tf 72 {780 - 16 * i} Td ({safe}) Tj ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})})
    for heading, index in outline:
        writer.add_outline_item(heading, index)
    for index, label in enumerate(labels):
        writer.set_page_label(index, index, prefix=label)
    if title:
        writer.add_metadata({"/Title": title})
    if password:
        writer.encrypt(password)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()

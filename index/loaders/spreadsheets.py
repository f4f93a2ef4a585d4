"""Spreadsheets: Excel (.xlsx, openpyxl), OpenDocument (.ods, a streaming reader of content.xml) and CSV.

One page per visible sheet, one line per row with text (« Poste | Montant | Date »), formulas read
as the value the office suite saved with them (what a person sees; a formula never calculated
reads as an empty cell). Where budgets and partner lists live.
"""

from __future__ import annotations

import csv
import html
import io
import re
import warnings
import zipfile
from typing import Any
from xml.sax.handler import ContentHandler

from index.loaders.base import LoadedDocument, LoadError, Page, decode_text
from index.loaders.budget import TextBudget
from index.loaders.sheets import MAX_COLUMNS, Cell, SheetBuilder, format_number, format_value
from index.loaders.text import looks_binary


def _document(pages: list[Page], titles: list[str], metadata_title: str, name: str) -> LoadedDocument:
    if not pages:
        raise LoadError("aucun texte dans ce fichier : ses feuilles sont vides")
    title = metadata_title.strip() or next((t for t in titles if t), "") or name
    return LoadedDocument(title[:160], tuple(pages), unit="sheet")


# -- Excel ------------------------------------------------------------------------------------
_UNREADABLE_XLSX = "classeur Excel illisible ou corrompu : réenregistrez-le au format .xlsx"


def load_xlsx(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    budget = budget or TextBudget()
    errors = (
        InvalidFileException,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        SyntaxError,
        OSError,
    )
    # openpyxl warns about what it does not keep (data validation, conditional formats): not the document's words
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except errors as exc:
            raise LoadError(_UNREADABLE_XLSX) from exc
        try:
            sheets = [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
            budget.check_pages(len(sheets), "sheet")
            pages, titles = [], []
            for number, sheet in enumerate(sheets, start=1):
                builder = SheetBuilder(sheet.title, number, budget)
                # the declared size may be wrong, or hostile (A1:XFD1048576): each row is read as long as it is
                sheet.reset_dimensions()
                for row_number, row in enumerate(sheet.iter_rows(), start=1):
                    builder.add_row(row_number, {i: _xlsx_cell(cell) for i, cell in enumerate(row) if cell.value is not None})
                page = builder.page()
                if page is not None:
                    pages.append(page)
                    titles.append(builder.title)
            metadata_title = workbook.properties.title or ""
        except errors as exc:
            raise LoadError(_UNREADABLE_XLSX) from exc
        finally:
            workbook.close()
    return _document(pages, titles, metadata_title, name)


def _xlsx_cell(cell: Any) -> Cell:
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_value(value, cell.number_format or "")
    return format_value(value)


# -- OpenDocument spreadsheet ---------------------------------------------------------------------
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_UNREADABLE_ODS = "classeur OpenDocument (.ods) illisible ou corrompu : réenregistrez-le depuis LibreOffice"


def _repeat(attrs: Any, name: str) -> int:
    try:
        return max(1, int(attrs.get((TABLE, name), "1")))
    except ValueError:
        return 1


def _ods_value(attrs: Any) -> Cell:
    """A cell without display text: its typed value (LibreOffice always writes the display text, other tools may not)."""
    kind = attrs.get((OFFICE, "value-type"))
    if kind in ("float", "currency", "percentage"):
        try:
            number = float(attrs.get((OFFICE, "value"), "nan"))
        except ValueError:
            return Cell("")
        return Cell(format_number(number, "%" if kind == "percentage" else ""), label=False)
    if kind == "date":
        return Cell(_ods_date(attrs.get((OFFICE, "date-value"), "")), label=False)
    if kind == "boolean":
        return Cell("VRAI" if attrs.get((OFFICE, "boolean-value")) == "true" else "FAUX", label=False)
    if kind == "time":
        match = re.match(r"PT(\d+)H(\d+)M", attrs.get((OFFICE, "time-value"), ""))
        return Cell(f"{int(match.group(1)):02d}:{match.group(2)}" if match else "", label=False)
    return Cell(attrs.get((OFFICE, "string-value"), ""))


def _ods_date(value: str) -> str:
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?", value)
    if not match:
        return value
    year, month, day, hour, minute = match.groups()
    date = f"{day}/{month}/{year}"
    return date if hour is None or (hour, minute) == ("00", "00") else f"{date} {hour}:{minute}"


class _OdsReader(ContentHandler):
    """SAX handler over content.xml: rows go to a SheetBuilder as they end, nothing else is kept.

    A sheet is usually stored with its last empty row repeated a million times and its last empty
    cell sixteen thousand times: empty repeats only move the position, filled ones are expanded
    (LibreOffice stores identical consecutive rows once, repeated), and each expanded row counts
    against the file's row budget.
    """

    def __init__(self, budget: TextBudget) -> None:
        super().__init__()
        self.budget = budget
        self.pages: list[Page] = []
        self.titles: list[str] = []
        self.hidden_styles: set[str] = set()
        self._style = ""
        self._depth = 0  # table:table elements open
        self._sheet: SheetBuilder | None = None
        self._row_number = 0
        self._row_repeat = 1
        self._cells: dict[int, Cell] = {}
        self._column = 0
        self._cell_attrs: Any = None
        self._cell_repeat = 1
        self._paragraphs: list[str] = []
        self._text: list[str] | None = None
        self._skip = 0  # inside an annotation (a comment on the cell): not its content

    def startElementNS(self, name: tuple[str | None, str], qname: str | None, attrs: Any) -> None:  # noqa: N802 (SAX)
        if self._skip or name == (OFFICE, "annotation"):
            self._skip += 1
            return
        if name == (STYLE, "style") and attrs.get((STYLE, "family")) == "table":
            self._style = attrs.get((STYLE, "name"), "")
        elif name == (STYLE, "table-properties") and attrs.get((TABLE, "display")) == "false" and self._style:
            self.hidden_styles.add(self._style)
        elif name == (TABLE, "table"):
            self._depth += 1
            if self._depth == 1:
                hidden = attrs.get((TABLE, "style-name")) in self.hidden_styles
                self._sheet = None if hidden else SheetBuilder(attrs.get((TABLE, "name"), ""), len(self.pages) + 1, self.budget)
                self._row_number = 0
        elif self._depth != 1:
            return  # outside the sheets, or in a table drawn inside a cell
        elif name == (TABLE, "table-row"):
            self._row_repeat = _repeat(attrs, "number-rows-repeated")
            self._cells = {}
            self._column = 0
        elif name in ((TABLE, "table-cell"), (TABLE, "covered-table-cell")):
            self._cell_attrs = attrs
            self._cell_repeat = _repeat(attrs, "number-columns-repeated")
            self._paragraphs = []
        elif name == (TEXT, "p") or name == (TEXT, "h"):
            self._text = []
        elif name in ((TEXT, "s"), (TEXT, "tab"), (TEXT, "line-break")) and self._text is not None:
            self._text.append(" ")

    def characters(self, content: str) -> None:
        if not self._skip and self._text is not None:
            self._text.append(content)

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:  # noqa: N802 (SAX)
        if self._skip:
            self._skip -= 1
            return
        if name == (TABLE, "table"):
            self._depth -= 1
            if self._depth == 0 and self._sheet is not None:
                page = self._sheet.page()
                if page is not None:
                    self.pages.append(page)
                    self.titles.append(self._sheet.title)
                self._sheet = None
        elif name in ((TEXT, "p"), (TEXT, "h")) and self._depth == 1:
            if self._text is not None:
                self._paragraphs.append("".join(self._text))
            self._text = None
        elif self._depth != 1:
            return
        elif name in ((TABLE, "table-cell"), (TABLE, "covered-table-cell")):
            text = " ".join(p for p in self._paragraphs if p.strip())
            cell = _ods_value(self._cell_attrs) if not text.strip() else Cell(text, self._is_label(self._cell_attrs))
            if cell.text.strip():
                for column in range(self._column, min(self._column + self._cell_repeat, MAX_COLUMNS)):
                    self._cells[column] = cell
            self._column += self._cell_repeat
        elif name == (TABLE, "table-row"):
            if self._cells and self._sheet is not None:
                for _ in range(self._row_repeat):
                    self._row_number += 1
                    self._sheet.add_row(self._row_number, self._cells)
            else:
                self._row_number += self._row_repeat

    @staticmethod
    def _is_label(attrs: Any) -> bool:
        return attrs.get((OFFICE, "value-type")) in (None, "string")


def load_ods(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    from xml.sax import SAXException, handler

    from defusedxml.sax import make_parser

    budget = budget or TextBudget()
    reader = _OdsReader(budget)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
            meta = archive.read("meta.xml") if "meta.xml" in archive.namelist() else b""
        parser = make_parser()
        parser.setFeature(handler.feature_namespaces, 1)
        parser.setFeature(handler.feature_external_ges, 0)
        parser.setContentHandler(reader)
        parser.parse(io.BytesIO(content))
    except (zipfile.BadZipFile, KeyError, ValueError, SAXException, OSError) as exc:
        raise LoadError(_UNREADABLE_ODS) from exc
    budget.check_pages(len(reader.pages), "sheet")
    match = re.search(rb"<dc:title>([^<]{1,400})</dc:title>", meta)  # meta.xml's one title (odfpy would parse it all)
    metadata_title = html.unescape(match.group(1).decode("utf-8", "replace")) if match else ""
    return _document(reader.pages, reader.titles, metadata_title, name)


# -- CSV ----------------------------------------------------------------------------------------------
_DELIMITERS = ";,\t|"
_SNIFF_CHARS = 8192  # the Sniffer's regular expressions are slow on long samples
# A figure (-1 200,50 € ; 15 % ; (300)) or a date (31/12/2024): not a column's name. Possessive
# quantifiers: no backtracking, linear in the cell's length whatever it holds.
_FIGURE = re.compile(r"^[-+(]?+\d[\d\s\u00a0\u202f.,]*+\)?+\s*+(?:%|€|EUR|\$)?+$|^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}$")


def _dialect(text: str) -> tuple[Any, str]:
    """The file's dialect and delimiter, as csv.Sniffer guesses them from its first lines; else the most frequent delimiter."""
    sample = text[:_SNIFF_CHARS]
    if "\n" in sample and len(sample) == _SNIFF_CHARS:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        return dialect, dialect.delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        delimiter = max(_DELIMITERS, key=first.count)
        return csv.excel, delimiter if first.count(delimiter) else ";"


def load_csv(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    budget = budget or TextBudget()
    text = decode_text(data)  # French Excel writes Windows-1252; charset-normalizer for the rest
    if looks_binary(text):
        raise LoadError("contenu binaire dans un fichier .csv : ce n'est pas un tableau en texte")
    builder = SheetBuilder("", 1, budget)
    try:
        dialect, delimiter = _dialect(text)
        reader = csv.reader(io.StringIO(text, newline=""), dialect, delimiter=delimiter)
        for number, record in enumerate(reader, start=1):
            builder.add_row(number, {i: Cell(v, not _FIGURE.match(v.strip())) for i, v in enumerate(record) if v.strip()})
    except csv.Error as exc:
        # the csv module's reasons are English (a field over 131,072 characters, a NUL byte): the log has them
        raise LoadError("fichier CSV illisible : réenregistrez-le depuis le tableur au format CSV") from exc
    page = builder.page()
    return _document([page] if page else [], [builder.title], "", name)

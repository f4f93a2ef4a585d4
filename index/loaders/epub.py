"""E-books (.epub): chapters in reading order (the spine), each chapter's title as its section.

An EPUB is a zip archive. ``META-INF/container.xml`` names the package file (the OPF), whose
manifest lists the book's files and whose spine gives the reading order; the table of contents
(EPUB 2's NCX, else EPUB 3's navigation document) names the chapters. The package files are XML,
parsed with defusedxml (no entity expansion, no external reference); the chapters and the
navigation document are XHTML, read with lxml's HTML parser (which loads no DTD and expands no
declared entity), as HTML entities such as ``&nbsp;`` are common in them.

What the archive inflates to is bounded before this loader runs (``check_archive``, called by
``load_bytes``: number of members and total uncompressed size); the text is counted by the budget
as it is appended; a package file (container, OPF, NCX, navigation) is read only if it is small.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
import zlib
from typing import Any, NamedTuple
from urllib.parse import unquote

from index.loaders.base import LoadedDocument, LoadError, guess_title
from index.loaders.blocks import PageBuilder
from index.loaders.budget import TextBudget

_BLOCK_TAGS = {
    "p", "div", "section", "article", "aside", "blockquote", "pre", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "figure", "figcaption", "header", "footer", "hr",
}  # fmt: skip
_HEADINGS = {"h1", "h2", "h3"}

CONTAINER = "META-INF/container.xml"
_OPF_TYPE = "application/oebps-package+xml"
_NCX_TYPE = "application/x-dtbncx+xml"
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html"}
_DC = "http://purl.org/dc/elements/1.1/"
MAX_PACKAGE_FILE = 16_000_000  # bytes: a real OPF, NCX or navigation document is well under a megabyte
# an XHTML file's encoding is named by its XML declaration or a byte order mark, else it is UTF-8 (XML's default)
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
log = logging.getLogger(__name__)


class _Item(NamedTuple):
    """A file of the manifest."""

    path: str  # the archive member ("" if the href leads out of the archive)
    media_type: str  # lower case, without parameters
    properties: frozenset[str]


_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, OSError, ValueError)


def _html_root(content: bytes) -> Any:
    """An XHTML file parsed by lxml's HTML parser, in the encoding XML gives it (lxml's HTML parser ignores the XML declaration)."""
    import lxml.html

    encoding = None  # lxml's own detection: a byte order mark, else a <meta charset>
    if not content.startswith(_BOMS):
        declared = _DECLARED_ENCODING.match(content[:500])
        if declared:
            encoding = declared.group(1).decode("ascii")
        else:
            try:
                content.decode("utf-8")
                encoding = "utf-8"  # XML's default
            except UnicodeDecodeError:
                pass  # not UTF-8 after all: a <meta charset> may say what it is
    if encoding:
        try:
            return lxml.html.fromstring(content, parser=lxml.html.HTMLParser(encoding=encoding))
        except LookupError:
            pass  # an encoding lxml does not know: let it guess
    return lxml.html.fromstring(content)


def xhtml_blocks(content: bytes) -> list[tuple[str, bool]]:
    """Blocks of a chapter as (text, is_heading): block elements end lines, table cells are joined by « | »."""
    import lxml.etree

    try:
        root = _html_root(content)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise LoadError("chapitre illisible dans ce livre numérique : réexportez-le au format EPUB") from exc
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    blocks: list[tuple[str, bool]] = []
    current: list[str] = []

    def flush(heading: bool = False) -> None:
        text = "".join(current).strip()
        if text:
            blocks.append((text, heading))
        current.clear()

    # iterwalk: no recursion, however deep the markup
    for action, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if action == "start":
            if tag in _BLOCK_TAGS:
                flush()
            if tag == "br":
                current.append("\n")
            if element.text and isinstance(element.tag, str):
                current.append(element.text)
        else:
            if tag in ("td", "th"):
                current.append(" | ")
            if tag in _BLOCK_TAGS:
                if tag == "tr":
                    text = "".join(current).strip().removesuffix("|").strip()
                    current[:] = [text]
                flush(heading=tag in _HEADINGS)
            if element.tail:
                current.append(element.tail)
    flush()
    return blocks


# -- the package: container, OPF, table of contents -------------------------------------------


def _shown(path: str) -> str:
    """A file name of the archive as the user sees it in a message (the archive chose it: keep it short)."""
    path = path.replace("\n", " ")
    return path if len(path) <= 80 else path[:79] + "…"


def _local(tag: Any) -> str:
    """An element's name without its namespace (some packages forget to declare theirs)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _resolve(base: str, href: str) -> str:
    """The archive member an href points to, from the folder of the file it appears in ("" if outside the archive)."""
    path = unquote(href.split("#", 1)[0].strip())
    if not path or "://" in path or path.startswith(("mailto:", "data:")):
        return ""
    path = posixpath.normpath(posixpath.join(base, path)).lstrip("/")
    return "" if path == "." or path.startswith("../") else path


def _read(archive: zipfile.ZipFile, path: str, what: str, limit: int | None = None) -> bytes:
    """One member of the archive, or LoadError naming the part of the book that is missing or broken."""
    try:
        info = archive.getinfo(path)
    except KeyError:
        raise LoadError(
            f"livre numérique (EPUB) incomplet : {what} ({_shown(path)}) manque dans l'archive, réexportez-le"
        ) from None
    if limit is not None and info.file_size > limit:
        raise LoadError(
            f"livre numérique (EPUB) refusé : {what} ({_shown(path)}) pèse {info.file_size // 1_000_000} Mo, "
            "bien plus qu'un livre réel (fichier piégé ou abîmé)"
        )
    if info.flag_bits & 0x1:
        raise LoadError("livre numérique (EPUB) chiffré : réexportez-le sans protection")
    try:
        return archive.read(info)
    except (*_ZIP_ERRORS, RuntimeError) as exc:
        raise LoadError(f"livre numérique (EPUB) abîmé : {what} ({_shown(path)}) ne se décompresse pas, réexportez-le") from exc


def _parse_xml(xml: bytes, path: str) -> Any:
    """An XML file of the package, parsed by defusedxml: a DTD may be named, no entity declared nor fetched."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(xml)
    except DefusedXmlException as exc:
        raise LoadError(f"livre numérique (EPUB) refusé : {_shown(path)} déclare des entités XML (fichier piégé ?)") from exc
    except (ParseError, ValueError) as exc:
        raise LoadError(
            f"livre numérique (EPUB) illisible : {_shown(path)} (son index interne) est abîmé, réexportez-le"
        ) from exc


def _package_path(archive: zipfile.ZipFile) -> str:
    """The OPF file named by META-INF/container.xml (its first rendition)."""
    container = _parse_xml(_read(archive, CONTAINER, "le fichier d'entrée", MAX_PACKAGE_FILE), CONTAINER)
    rootfiles = [e for e in container.iter() if _local(e.tag) == "rootfile" and (e.get("full-path") or "").strip()]
    rootfiles.sort(key=lambda e: e.get("media-type") != _OPF_TYPE)  # stable: the first OPF, in the container's order
    path = _resolve("", rootfiles[0].get("full-path")) if rootfiles else ""
    if not path:
        raise LoadError(f"livre numérique (EPUB) illisible : {CONTAINER} ne désigne aucun fichier OPF, réexportez-le")
    return path


def _child(element: Any, name: str) -> Any:
    return next((e for e in element if _local(e.tag) == name), None)


def _ncx_titles(ncx: Any, path: str) -> dict[str, str]:
    """EPUB 2's table of contents: {chapter file: title}, the first entry pointing into a file naming it."""
    base = posixpath.dirname(path)
    titles: dict[str, str] = {}
    for point in ncx.iter():  # document order: a chapter before its subsections
        if _local(point.tag) != "navPoint":
            continue
        label, content = _child(point, "navLabel"), _child(point, "content")
        title = _text(label) if label is not None else ""
        target = _resolve(base, content.get("src", "")) if content is not None else ""
        if title and target:
            titles.setdefault(target, title)
    return titles


def _nav_titles(content: bytes, path: str) -> dict[str, str]:
    """EPUB 3's table of contents (the <nav epub:type="toc"> of the navigation document), as ``_ncx_titles``."""
    import lxml.etree

    try:
        root = _html_root(content)
    except (lxml.etree.ParserError, ValueError):
        return {}  # the chapters' titles are then their first headings
    nav = next((n for n in root.iter("nav") if any("toc" in str(v).split() for v in n.attrib.values())), None)
    if nav is None:
        return {}
    base = posixpath.dirname(path)
    titles: dict[str, str] = {}
    for link in nav.iter("a"):
        title = " ".join(link.text_content().split())
        target = _resolve(base, link.get("href", ""))
        if title and target:
            titles.setdefault(target, title)
    return titles


def _toc_titles(archive: zipfile.ZipFile, manifest: dict[str, _Item], ncx_id: str) -> dict[str, str]:
    """The chapters' titles from the NCX (the spine's toc, else the manifest's), else from the navigation document.

    A table of contents that is missing or broken names nothing: the chapters' headings name them.
    """
    ncx = manifest.get(ncx_id)
    if ncx is None or ncx.media_type != _NCX_TYPE:
        ncx = next((m for m in manifest.values() if m.media_type == _NCX_TYPE), None)
    nav = next((m for m in manifest.values() if "nav" in m.properties), None)
    try:
        if ncx is not None:
            xml = _parse_xml(_read(archive, ncx.path, "la table des matières", MAX_PACKAGE_FILE), ncx.path)
            titles = _ncx_titles(xml, ncx.path)
            if titles:
                return titles
        if nav is not None:
            return _nav_titles(_read(archive, nav.path, "la table des matières", MAX_PACKAGE_FILE), nav.path)
    except LoadError as exc:
        log.debug("table of contents of an EPUB not read (%s): its chapters' headings name them", exc)
    return {}


def _manifest(opf: Any, base: str) -> dict[str, _Item]:
    """The package's files by id (the first item of an id counts)."""
    manifest: dict[str, _Item] = {}
    for item in opf:
        if _local(item.tag) == "item" and item.get("id") and item.get("href"):
            media_type = (item.get("media-type") or "").split(";", 1)[0].strip().lower()
            properties = frozenset((item.get("properties") or "").split())
            manifest.setdefault(item.get("id"), _Item(_resolve(base, item.get("href")), media_type, properties))
    return manifest


def load_epub(data: bytes, name: str, budget: TextBudget | None = None) -> LoadedDocument:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise LoadError("livre numérique (EPUB) illisible ou corrompu : réexportez-le") from exc
    with archive:
        opf_path = _package_path(archive)
        opf = _parse_xml(_read(archive, opf_path, "le fichier OPF", MAX_PACKAGE_FILE), opf_path)
        if _local(opf.tag) != "package":
            raise LoadError(f"livre numérique (EPUB) illisible : {_shown(opf_path)} n'est pas un fichier OPF, réexportez-le")
        manifest_element, spine = _child(opf, "manifest"), _child(opf, "spine")
        if manifest_element is None or spine is None:
            raise LoadError(
                "livre numérique (EPUB) illisible : son fichier OPF n'a pas de manifeste ou d'ordre de lecture, réexportez-le"
            )
        manifest = _manifest(manifest_element, posixpath.dirname(opf_path))
        toc = _toc_titles(archive, manifest, spine.get("toc", ""))
        by_file: dict[str, str] = {}  # the fallback of books whose table of contents points elsewhere
        for target, title in toc.items():
            by_file.setdefault(posixpath.basename(target), title)
        builder = PageBuilder(budget)
        read: set[str] = set()
        for itemref in spine:
            item = manifest.get(itemref.get("idref", "")) if _local(itemref.tag) == "itemref" else None
            if item is None or not item.path or item.path in read:
                continue  # an itemref to nothing (skipped, as readers do), or a chapter already read
            if item.media_type not in _CHAPTER_TYPES or item.properties & {"nav", "cover"}:
                continue  # not text (an image); the navigation page is a table of contents: its titles are the sections
            path = item.path
            read.add(path)
            content = _read(archive, path, "un chapitre", None)
            blocks = xhtml_blocks(content) if content.strip() else []  # an empty file: a chapter without text
            if not blocks:
                continue
            chapter = toc.get(path) or by_file.get(posixpath.basename(path))
            headings = [text for text, heading in blocks if heading]
            title = chapter or (headings[0] if headings else "")
            for i, (text, heading) in enumerate(blocks):
                if i == 0 and title:  # the chapter starts here, under its name in the table of contents
                    builder.add(text, section=title)
                else:
                    builder.add(text, heading=heading and not chapter)
        metadata = _child(opf, "metadata")
        dc_title = metadata.find(f".//{{{_DC}}}title") if metadata is not None else None
    page = builder.page()
    book_title = _text(dc_title) if dc_title is not None else ""
    return LoadedDocument(book_title[:160] or guess_title(page.text, name), (page,))

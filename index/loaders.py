"""One loader per format: text per page (when the format has pages) and a title."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")


class LoadError(Exception):
    """A file cannot be turned into text; the message is for the user (French)."""


@dataclass(frozen=True)
class Page:
    number: int | None  # 1-based page number for paged formats, None otherwise
    text: str


@dataclass(frozen=True)
class LoadedDocument:
    title: str
    pages: tuple[Page, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


_BOILERPLATE = re.compile(r"^(top of page|bottom of page|welcome|sommaire|menu)$", re.IGNORECASE)


def guess_title(text: str, fallback: str) -> str:
    """Return the document's own heading: the first meaningful line."""
    for raw in text.splitlines():
        line = re.sub(r"^#+\s*", "", raw).strip(" \t•-–—*")
        line = re.sub(r"^date\s+\d{4}-\d{2}-\d{2}\s+", "", line)
        if len(line) < 8 or len(line.split()) < 3 or _BOILERPLATE.match(line) or not re.search(r"[A-Za-zÀ-ÿ]{3}", line):
            continue
        return line[:160]
    return fallback


def decode_text(data: bytes) -> str:
    """Decode UTF-8 when valid, else detect (Windows-1252, Latin-1, ...)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # French office documents that are not UTF-8 are nearly always Windows-1252; short
        # texts are too ambiguous for statistical detection (é/ŕ of Central European pages).
        return data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("encodage du texte non reconnu (ni UTF-8 ni Windows-1252) : réenregistrez-le en UTF-8")
    return str(best)


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    bad = sum(1 for ch in text[:4000] if ch == "\x00" or (ord(ch) < 32 and ch not in "\n\r\t\f"))
    return bad > max(3, len(text[:4000]) // 100)


def load_text(data: bytes, name: str) -> LoadedDocument:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if _looks_binary(text):
        raise LoadError("contenu binaire dans un fichier texte : ce n'est pas du texte lisible")
    return LoadedDocument(guess_title(text, name), (Page(None, text),))


def load_pdf(data: bytes, name: str) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # pypdf raises several types for unsupported encryption
                raise LoadError("PDF chiffré : retirez le mot de passe puis réimportez-le") from exc
            if not ok:
                raise LoadError("PDF protégé par un mot de passe : retirez la protection puis réimportez-le")
        pages = tuple(Page(i, page.extract_text() or "") for i, page in enumerate(reader.pages, start=1))
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(f"PDF illisible ou corrompu ({exc.__class__.__name__}) : réexportez-le") from exc
    if not any(p.text.strip() for p in pages):
        raise LoadError("aucun texte extractible (PDF scanné ?) : passez-le d'abord dans un outil d'OCR")
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or ""
    first = next(p.text for p in pages if p.text.strip())
    return LoadedDocument(title.strip() or guess_title(first, name), pages)


def load_docx(data: bytes, name: str) -> LoadedDocument:
    import zipfile

    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoadError("document Word illisible ou corrompu : réenregistrez-le au format .docx") from exc
    paragraphs = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            paragraphs.append(" | ".join(cell.text for cell in row.cells))
    text = "\n\n".join(p for p in paragraphs if p.strip())
    heading = next(
        (p.text for p in document.paragraphs if p.style is not None and p.style.name.startswith(("Title", "Heading"))),
        "",
    )
    core_title = document.core_properties.title or ""
    return LoadedDocument((heading or core_title).strip() or guess_title(text, name), (Page(None, text),))


def load_html(data: bytes, name: str) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header"]):
        tag.decompose()
    heading = soup.find("h1") or soup.find("title")
    text = soup.get_text("\n")
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    title = heading.get_text(" ", strip=True) if heading else ""
    return LoadedDocument(title or guess_title(text, name), (Page(None, text.strip()),))


LOADERS: dict[str, Callable[[bytes, str], LoadedDocument]] = {
    ".txt": load_text,
    ".md": load_text,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
}


def load_bytes(data: bytes, name: str) -> LoadedDocument:
    """Turn a file's bytes into a document, or raise LoadError with the reason."""
    suffix = Path(name).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise LoadError(
            f"format non pris en charge ({suffix or 'sans extension'}) : formats acceptés {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise LoadError("fichier vide")
    document = loader(data, Path(name).stem)
    if not any(p.text.strip() for p in document.pages):
        raise LoadError("aucun texte dans ce fichier")
    return document

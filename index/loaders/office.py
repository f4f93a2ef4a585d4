"""Office documents: Word (.docx)."""

from __future__ import annotations

import io

from index.loaders.base import LoadedDocument, LoadError, Page, guess_title


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

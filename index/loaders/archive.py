"""Office documents and e-books are zip archives: look at what they would inflate to before anything reads them."""

from __future__ import annotations

import io
import zipfile

from index.loaders.base import LoadError

ARCHIVE_SUFFIXES = frozenset({".docx", ".pptx", ".xlsx", ".odt", ".odp", ".ods", ".epub"})
MAX_MEMBERS = 20_000


def check_archive(data: bytes, max_unzipped_bytes: int) -> None:
    """Refuse a zip bomb from its directory alone (Python's zipfile never inflates past a member's declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        return  # not a readable zip: the format's loader says so in its own words
    if len(members) > MAX_MEMBERS:
        raise LoadError(f"archive anormale ({len(members)} éléments) : fichier piégé ou abîmé, ignoré")
    total = sum(m.file_size for m in members)
    if total > max_unzipped_bytes:
        raise LoadError(
            f"archive qui se décompresse en {_mb(total)} Mo (plus de {_mb(max_unzipped_bytes)} Mo) : "
            "fichier piégé (« bombe zip ») ou trop lourd, ignoré"
        )


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f}".replace(",", "\u202f")  # French thousands separator

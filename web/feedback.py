"""What colleagues tell the admins: thumbs and comments, and the questions the assistant could not answer."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from assistant.pipeline import Answer


class FeedbackLog:
    """Two JSON Lines files in the data folder, appended under a lock, read back newest first."""

    def __init__(self, data_dir: Path) -> None:
        self.feedback_file = data_dir / "feedback.jsonl"
        self.abstentions_file = data_dir / "abstentions.jsonl"
        self._lock = threading.Lock()

    def record_answer(self, answer: Answer, user: str | None = None) -> None:
        """Keep the questions the documents could not answer, for the admins."""
        if answer.abstained:
            self._append(
                self.abstentions_file,
                {
                    "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "user": user,
                    "question": answer.question,
                    "standalone": answer.standalone_question,
                    "reason": answer.reason,
                },
            )

    def record_feedback(self, question: str, answer: str, liked: bool | None, comment: str = "", user: str | None = None) -> None:
        self._append(
            self.feedback_file,
            {
                "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                "user": user,
                "question": question[:2000],
                "answer": answer[:5000],
                "liked": liked,
                "comment": comment.strip()[:2000],
            },
        )

    def _append(self, path: Path, row: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def problems(self, limit: int = 50) -> list[dict[str, Any]]:
        """Abstentions, thumbs-down and comments, newest first."""
        rows: list[dict[str, Any]] = []
        for path, kind in ((self.abstentions_file, "abstention"), (self.feedback_file, "avis")):
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(row, dict):
                    continue
                if kind == "avis":
                    if row.get("liked") is False:
                        kind_here = "avis négatif"
                    elif row.get("comment"):
                        kind_here = "commentaire"
                    else:
                        continue
                    rows.append({**row, "kind": kind_here})
                else:
                    rows.append({**row, "kind": kind})
        rows.sort(key=lambda r: str(r.get("when", "")), reverse=True)
        return rows[:limit]

"""The admin page: status, sync report, questions without answer, curation and evaluations."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.evaluation.history import run_figures
from web.render.conversations import day_of
from web.render.text import blockquote, cut_text, passage_heading, plain_markdown


def report_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report.get('documents_total', '?')} documents, {report.get('chunks_total', '?')} passages ; "
        f"{report.get('chunks_embedded', 0)} passages calculés en {float(report.get('seconds', 0) or 0):.1f} s."
    ]
    for key, label in (("added", "ajouté"), ("changed", "modifié"), ("removed", "supprimé")):
        lines += [f"- {label} : {plain_markdown(str(s))}" for s in report.get(key, [])]
    if report.get("unchanged"):
        lines.append(f"- inchangés : {len(report['unchanged'])}")
    lines += [
        f"- **échec** : {plain_markdown(str(f.get('source', '')))} — {plain_markdown(str(f.get('error', '')))}"
        for f in report.get("failed", [])
    ]
    return "\n".join(lines)


def status_markdown(status: dict[str, Any]) -> str:
    lines = [
        f"**Modèle de langue** : {plain_markdown(str(status.get('model', '')))}",
        "",
        f"**Index** : {status['documents']} documents, {status['chunks']} passages · modèle d'embeddings "
        f"{plain_markdown(str(status['embedding']))} · dernière synchronisation : {plain_markdown(str(status['synced_at'] or 'jamais'))}",
        "",
    ]
    lines += [f"- {plain_markdown(src)} — {plain_markdown(title)}" for src, title in status["sources"].items()]
    if status.get("user_problems"):
        lines.append("\n**Comptes refusés** (python -m assistant list-users ; corrigez avec add-user ou set-role)\n")
        lines += [f"- {plain_markdown(p)}" for p in status["user_problems"]]
    if status.get("last_sync"):
        lines.append("\n**Dernier rapport**\n\n" + report_markdown(status["last_sync"]))
    return "\n".join(lines)


def problems_markdown(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "Aucune pour l'instant."
    out = []
    for r in rows:
        line = f"- {plain_markdown(str(r.get('when', '')))} · **{plain_markdown(str(r.get('kind', '')))}**"
        if r.get("user"):
            line += f" · {plain_markdown(str(r['user']))}"
        line += f" · {plain_markdown(str(r.get('question', '')))}"
        if r.get("comment"):
            line += f" — « {plain_markdown(str(r['comment']))} »"
        out.append(line)
    return "\n".join(out)


def problem_choices(rows: Sequence[Mapping[str, Any]], curated: Mapping[str, str]) -> list[tuple[str, str]]:
    """Choices (label, id) of the rows an admin can curate; labels are shown as text by the browser."""
    out = []
    for r in rows:
        question = " ".join(str(r.get("question", "")).split())
        done = f" ✔ {curated[r['id']]}" if r["id"] in curated else ""
        out.append((f"{r.get('when', '')} · {r.get('kind', '')} · {cut_text(question, 80)}{done}", str(r["id"])))
    return out


def problem_detail_markdown(row: Mapping[str, Any], curated_id: str | None = None) -> str:
    """One abstention or thumbs-down as the admin reads it: question, answer, passages, comment; all inert."""
    head = f"**{plain_markdown(str(row.get('kind', '')))}** · {plain_markdown(str(row.get('when', '')))}"
    if row.get("user"):
        head += f" · {plain_markdown(str(row['user']))}"
    if row.get("reason"):
        head += f" · raison : {plain_markdown(str(row['reason']))}"
    lines = [head, "", f"**Question** : {plain_markdown(str(row.get('question', '')))}"]
    if row.get("standalone") and row.get("standalone") != row.get("question"):
        lines += ["", f"**Question comprise** (après réécriture) : {plain_markdown(str(row['standalone']))}"]
    answer = str(row.get("answer") or "")
    lines += ["", "**Réponse donnée** :", "", blockquote(plain_markdown(answer)) if answer.strip() else "_(non enregistrée)_"]
    if row.get("diagnosis"):
        lines += ["", f"**Où la question s'est perdue** : {plain_markdown(str(row['diagnosis']))}"]
    if row.get("comment"):
        lines += ["", f"**Commentaire** : « {plain_markdown(str(row['comment']))} »"]
    if curated_id:
        lines += ["", f"✔ Déjà dans le jeu de questions curé : **{plain_markdown(curated_id)}**."]
    passages = [p for p in row.get("passages") or [] if isinstance(p, dict)]
    lines += ["", "**Passages donnés au modèle**" if passages else "_Aucun passage enregistré pour cette remontée._"]
    for p in passages:
        lines += [
            "",
            passage_heading(
                int(p.get("rank") or 0), str(p.get("title", "")), str(p.get("source", "")), str(p.get("location") or "")
            ),
            "",
            blockquote(plain_markdown(str(p.get("text", "")))),
        ]
    return "\n".join(lines)


def passage_choices_of(row: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [
        (
            f"[{p.get('rank')}] {p.get('title', '')} — {p.get('source', '')}"
            + (f" ({p['location']})" if p.get("location") else ""),
            int(p.get("rank") or 0),
        )
        for p in row.get("passages") or []
        if isinstance(p, dict)
    ]


def curated_markdown(entries: Sequence[Mapping[str, Any]], path_name: str) -> str:
    if not entries:
        return f"Aucune question curée pour l'instant (fichier {plain_markdown(path_name)} dans le dossier des données)."
    lines = [
        f"**{len(entries)} question(s)** dans {plain_markdown(path_name)} (lisible par `python -m assistant eval --questions`) :",
        "",
    ]
    for e in entries:
        kind = "avec réponse" if e.get("answerable") else "sans réponse dans les documents"
        line = f"- **{plain_markdown(str(e.get('id', '')))}** · {kind} · {plain_markdown(str(e.get('question', '')))}"
        if e.get("answerable"):
            patterns = " / ".join(plain_markdown(str(p)) for p in e.get("answer_patterns") or [])
            evidence = plain_markdown(cut_text(str((e.get("evidence") or [""])[0]), 160))
            line += f" — motif « {patterns} », preuve « {evidence} »"
        lines.append(line)
    return "\n".join(lines)


def _figure(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "—"


def evaluation_markdown(status: Mapping[str, Any], last_runs: Sequence[Mapping[str, Any]], settings_note: str = "") -> str:
    """Where the background evaluation stands, and the figures of each set's last run."""
    lines: list[str] = []
    if status.get("running"):
        done, total = int(status.get("done") or 0), int(status.get("total") or 0)
        where = f"{plain_markdown(str(status.get('set_label') or ''))} — question {done} sur {total}" if total else "préparation"
        who = f" par {plain_markdown(str(status['user']))}" if status.get("user") else ""
        lines.append(
            f"⏳ **Évaluation en cours** : {where} (lancée le {plain_markdown(day_of(str(status.get('started', ''))))}{who}, "
            f"{plain_markdown(str(status.get('trigger', '')))}). Les questions des collègues passent à leur tour."
        )
    elif status.get("failed"):
        lines.append(
            "⚠ **L'évaluation a échoué** : les détails sont dans le journal du serveur. Réessayez ; si cela revient, prévenez l'équipe technique."
        )
    elif status.get("cancelled"):
        lines.append("⏹ Évaluation arrêtée : ses chiffres ne sont pas gardés.")
    for w in status.get("warnings") or []:
        lines.append(f"⚠ **Baisse** : {plain_markdown(str(w))}.")
    for n in status.get("notes") or []:
        lines.append(f"- {plain_markdown(str(n))}")
    if last_runs:
        lines += [
            "",
            "| jeu | date | index (version, documents) | questions | exactitude | abstentions justes | hit@5 | abstentions à tort |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in last_runs:
            m = run_figures(r)  # "—" where no question counts (no unanswerable question: no abstention figure)
            lines.append(
                f"| {plain_markdown(str(r.get('set_label', r.get('set', ''))))} | {plain_markdown(day_of(str(r.get('when', ''))))} "
                f"| v{plain_markdown(str(r.get('index_generation', '?')))}, {int(r.get('documents') or 0)} | {int(r.get('questions') or 0)} "
                f"| {_figure(m.get('answer_accuracy'))} | {_figure(m.get('abstention_recall'))} | {_figure(m.get('hit@5'))} "
                f"| {_figure(m.get('false_abstention_rate'))} |"
            )
            for w in r.get("warnings") or []:
                lines.append(f"\n⚠ {plain_markdown(str(w))}")
    elif not status.get("running"):
        lines.append("Aucune évaluation pour l'instant : « Évaluer maintenant » mesure le jeu curé et le jeu d'exemple.")
    if settings_note:
        lines += ["", settings_note]
    return "\n".join(lines)


def chart_html(png: bytes | None) -> str:
    """The figures over time, drawn by the server (an inline PNG: nothing fetched elsewhere)."""
    if not png:
        return "<p class='chart-missing'>Le graphique apparaîtra après la première évaluation.</p>"
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure class='eval-chart'><img src='data:image/png;base64,{data}' "
        'alt="Les chiffres de chaque évaluation au fil du temps, reconstructions de l\'index marquées">'
        "<figcaption>Chiffres de chaque évaluation au fil du temps ; pointillés : reconstructions de l'index.</figcaption></figure>"
    )

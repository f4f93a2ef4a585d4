"""Web chat for staff (Gradio): streaming answers with sources, document viewer, admin page, login.

Run with ``make run`` or ``python app.py``. Gradio only: the work is done by
``assistant.service.Service``.
"""

from __future__ import annotations

import html
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # documents stay private: no analytics
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr

from assistant.config import Settings
from assistant.errors import AnsweringError
from assistant.pipeline import Answer, Retrieved
from assistant.service import AccessDenied, Service, UploadError
from index.errors import IndexingError
from index.loaders import SUPPORTED_SUFFIXES

log = logging.getLogger("app")

EXAMPLES = [
    "En quelle année l'Accord intergouvernemental de coopération médicale entre le Vietnam et la France a-t-il été signé ?",
    "Combien d'entreprises françaises la French Healthcare Alliance China fédère-t-elle ?",
    "Qu'est-ce que le dispositif « se soigner » ?",
    "How many Vietnamese doctors have been trained in France?",
]

CSS = """
#backend-line p { margin: 0; color: #555; font-size: 0.9em; }
.passage-before, .passage-after { color: #777; }
.passage-main { background: #f6f6f0; padding: 0.4em; border-left: 3px solid #c9a227; }
mark { background: #ffe58a; }
"""


def user_message(exc: Exception) -> str:
    """Turn any failure into a French sentence saying what to do; the details go to the log.

    Every error a user can meet derives from one of the two layers' bases, whose
    message is already that sentence; anything else is a bug, logged in full.
    """
    if isinstance(exc, AnsweringError | IndexingError):
        return str(exc)
    log.exception("unexpected error")
    return "Une erreur inattendue s'est produite. Réessayez ; si elle revient, prévenez un administrateur (détails dans le journal du serveur)."


def highlight(passage: str, quote: str) -> str:
    text = html.escape(passage)
    q = html.escape(quote)
    return text.replace(q, f"<mark>{q}</mark>", 1) if q and q in text else text


def blockquote(text: str) -> str:
    """Quote a passage in Markdown, every line of it (indented lines would become code)."""
    return "\n".join("> " + line.strip() for line in text.splitlines())


def sources_markdown(answer: Answer) -> str:
    if answer.citations:
        parts = []
        for c in answer.citations:
            where = f", {c.location}" if c.location else ""
            parts.append(
                f"**[{c.n}] {html.escape(c.title)}** — `{c.source}`{where}\n\n{blockquote(highlight(c.passage_text, c.quote))}"
            )
        return "\n\n".join(parts)
    lines = [
        f"**[{p.rank}] {html.escape(p.title)}** — `{p.source}` ({p.location})\n\n{blockquote(html.escape(p.text[:300]) + '…')}"
        for p in answer.passages[:3]
    ]
    return "\n\n".join(lines) or "Aucun passage."


def source_choices(answer: Answer | None) -> list[str]:
    if answer is None:
        return []
    if answer.citations:
        return [f"[{c.n}] {c.title} ({c.source}{', ' + c.location if c.location else ''})" for c in answer.citations]
    return [f"[{p.rank}] {p.title} ({p.source}, {p.location})" for p in answer.passages[:3]]


def content_text(content: Any) -> str:
    """Text of a chat message: Gradio gives a string, or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return ""


def conversation(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The turns the pipeline sees: user questions and answers, without the Sources blocks."""
    turns = []
    for m in history or []:
        text = content_text(m.get("content")).strip()
        if m.get("metadata") or not text:
            continue
        turns.append({"role": m["role"], "content": text})
    return turns


def build_app(service: Service) -> gr.Blocks:
    settings = service.settings
    login_note = (
        "Connexion requise."
        if service.login_required
        else "Sans comptes configurés : accessible seulement depuis cette machine (127.0.0.1)."
    )

    with gr.Blocks(title="Assistant coopération santé") as demo:
        gr.Markdown("# Assistant documentaire · coopération internationale en santé")
        gr.Markdown(
            f"**Modèle** : {service.assistant.backend_note} · Réponses tirées uniquement de vos documents, avec leurs sources. · {login_note}",
            elem_id="backend-line",
        )
        last_answer = gr.State(None)
        with gr.Tabs():
            with gr.Tab("Discussion", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            elem_id="chatbot",
                            height=520,
                            buttons=["copy"],
                            label="Discussion",
                            placeholder="**Posez une question sur les documents de coopération.** Exemples ci-dessous.",
                            feedback_options=("Like", "Dislike"),
                        )
                        with gr.Row():
                            msg = gr.Textbox(
                                elem_id="chat-input",
                                placeholder="Votre question (français ou anglais)…",
                                show_label=False,
                                scale=6,
                                lines=1,
                                max_lines=4,
                            )
                            send = gr.Button("Envoyer", variant="primary", elem_id="send", scale=1)
                        gr.Examples(EXAMPLES, inputs=msg, label="Exemples de questions")
                        with gr.Row():
                            new_chat = gr.Button("Nouvelle conversation", elem_id="new-chat")
                            doc_filter = gr.Dropdown(
                                choices=list(service.status()["sources"]),
                                multiselect=True,
                                label="Limiter la recherche à certains documents (facultatif)",
                                elem_id="doc-filter",
                            )
                        with gr.Accordion("Commenter la dernière réponse", open=False):
                            comment = gr.Textbox(
                                label="Commentaire (facultatif, conservé localement pour les administrateurs)", elem_id="comment"
                            )
                            send_comment = gr.Button("Envoyer le commentaire", elem_id="send-comment")
                    with gr.Column(scale=2):
                        gr.Markdown("### Voir une source dans son document")
                        source_pick = gr.Radio(choices=[], label="Sources de la dernière réponse", elem_id="source-pick")
                        viewer = gr.HTML(elem_id="viewer")
                        download = gr.DownloadButton("Télécharger le document original", visible=False, elem_id="download")
            with gr.Tab("Admin", id="admin", visible=not service.login_required) as admin_tab:
                status_md = gr.Markdown(elem_id="status")
                with gr.Row():
                    upload = gr.File(
                        label=f"Ajouter des documents ({', '.join(SUPPORTED_SUFFIXES)} ; {settings.max_upload_mb:g} Mo maximum)",
                        file_count="multiple",
                        file_types=list(SUPPORTED_SUFFIXES),
                        elem_id="upload",
                    )
                    with gr.Column():
                        overwrite = gr.Checkbox(label="Remplacer les fichiers existants du même nom", elem_id="overwrite")
                        add_files = gr.Button("Ajouter aux documents", elem_id="add-files")
                        rebuild_btn = gr.Button("Reconstruire l'index", variant="primary", elem_id="rebuild")
                upload_md = gr.Markdown(elem_id="upload-report")
                report_md = gr.Markdown(elem_id="rebuild-report")
                gr.Markdown("### Questions sans réponse et avis négatifs (les plus récents d'abord)")
                problems_md = gr.Markdown(elem_id="problems")
                refresh = gr.Button("Rafraîchir", elem_id="refresh")

        # -- chat ----------------------------------------------------------------
        def respond(message: str, history: list[dict[str, Any]], filters: list[str] | None) -> Iterator[tuple[Any, ...]]:
            history = list(history or [])
            turns = conversation(history)
            history += [{"role": "user", "content": message}, {"role": "assistant", "content": ""}]
            yield history, "", None, gr.update()
            final: Answer | None = None
            try:
                for item in service.stream(message, turns, filters):
                    if isinstance(item, Answer):
                        final = item
                    elif isinstance(item, Retrieved):
                        continue
                    else:
                        history[-1]["content"] = content_text(history[-1]["content"]) + item
                        yield history, "", None, gr.update()
            except Exception as exc:  # every failure reaches the user as a sentence, never a traceback
                history[-1]["content"] = f"⚠ {user_message(exc)}"
                yield history, "", None, gr.update()
                return
            assert final is not None
            text = final.text
            if final.abstained:
                text += (
                    "\n\n_Abstention : les documents ne contiennent pas cette réponse._"
                    if final.language == "fr"
                    else "\n\n_Abstention: the documents do not hold this answer._"
                )
            history[-1]["content"] = text
            title = "Sources" if final.citations else "Passages les plus proches"
            history.append(
                {"role": "assistant", "content": sources_markdown(final), "metadata": {"title": title, "status": "done"}}
            )
            yield history, "", final, gr.update(choices=source_choices(final), value=None)

        chat_inputs = [msg, chatbot, doc_filter]
        chat_outputs = [chatbot, msg, last_answer, source_pick]
        msg.submit(respond, chat_inputs, chat_outputs, api_name="chat")
        send.click(respond, chat_inputs, chat_outputs, api_visibility="private")
        new_chat.click(
            lambda: ([], "", None, gr.update(choices=[], value=None), "", gr.update(visible=False)),
            None,
            [chatbot, msg, last_answer, source_pick, viewer, download],
            api_visibility="private",
        )

        def show_source(choice: str | None, answer: Answer | None) -> tuple[str, Any]:
            if not choice or answer is None:
                return "", gr.update(visible=False)
            n = int(choice[1 : choice.index("]")])
            passage = next((p for p in answer.passages if p.rank == n), None)
            if passage is None:
                return "", gr.update(visible=False)
            quote = next((c.quote for c in answer.citations if c.n == n), "")
            before, after = service.assistant.retriever.neighbours(passage)
            where = f"page {passage.page}" if passage.page is not None else f"caractères {passage.start}–{passage.end}"
            body = (
                f"<h4>{html.escape(passage.title)}</h4><p><code>{html.escape(passage.source)}</code> · {where}</p>"
                f"<div class='passage-before'>{html.escape(before[-400:])}</div>"
                f"<div class='passage-main'>{highlight(passage.text, quote)}</div>"
                f"<div class='passage-after'>{html.escape(after[:400])}</div>"
            )
            path = service.document_path(passage.source)
            return body, gr.update(value=str(path) if path else None, visible=path is not None)

        source_pick.change(show_source, [source_pick, last_answer], [viewer, download], api_visibility="private")

        def on_like(data: gr.LikeData, history: list[dict[str, Any]], request: gr.Request) -> None:
            index = data.index if isinstance(data.index, int) else data.index[0]
            answer = content_text(history[index]["content"]) if 0 <= index < len(history) else str(data.value)
            question = next((content_text(m["content"]) for m in reversed(history[:index]) if m["role"] == "user"), "")
            service.record_feedback(question, str(answer), bool(data.liked), user=getattr(request, "username", None))
            gr.Info("Merci pour votre avis.")

        chatbot.like(on_like, [chatbot], None, api_visibility="private")

        def on_comment(text: str, history: list[dict[str, Any]], request: gr.Request) -> str:
            if not text.strip():
                gr.Warning("Le commentaire est vide.")
                return text
            turns = conversation(history)
            question = next((t["content"] for t in reversed(turns) if t["role"] == "user"), "")
            answer = next((t["content"] for t in reversed(turns) if t["role"] == "assistant"), "")
            service.record_feedback(question, answer, None, text, getattr(request, "username", None))
            gr.Info("Commentaire enregistré, merci.")
            return ""

        send_comment.click(on_comment, [comment, chatbot], [comment], api_visibility="private")

        # -- admin ---------------------------------------------------------------
        def status_text(request: gr.Request) -> str:
            service.require_admin(getattr(request, "username", None))
            s = service.status()
            lines = [
                f"**Index** : {s['documents']} documents, {s['chunks']} passages · modèle d'embeddings `{s['embedding']}` · "
                f"dernière synchronisation : {s['synced_at'] or 'jamais'}",
            ]
            lines += [f"- `{src}` — {title}" for src, title in s["sources"].items()]
            if s["last_sync"]:
                lines.append("\n**Dernier rapport**\n\n" + report_markdown(s["last_sync"]))
            return "\n".join(lines)

        def problems_text(request: gr.Request) -> str:
            service.require_admin(getattr(request, "username", None))
            rows = service.problems()
            if not rows:
                return "Aucune pour l'instant."
            return "\n".join(
                f"- {r.get('when', '')} · **{r['kind']}** · {html.escape(str(r.get('question', '')))}"
                + (f" — « {html.escape(r['comment'])} »" if r.get("comment") else "")
                for r in rows
            )

        def admin_refresh(request: gr.Request) -> tuple[str, str]:
            try:
                return status_text(request), problems_text(request)
            except AccessDenied as exc:
                raise gr.Error(str(exc)) from exc

        def add_documents(files: list[Any] | None, replace: bool, request: gr.Request) -> tuple[str, None]:
            try:
                service.require_admin(getattr(request, "username", None))
            except AccessDenied as exc:
                raise gr.Error(str(exc)) from exc
            if not files:
                raise gr.Error("Choisissez d'abord un ou plusieurs fichiers.")
            added, refused = [], []
            for f in files:
                path = Path(f if isinstance(f, str) else f.name)
                original = getattr(f, "orig_name", None) or path.name
                try:
                    added.append(service.save_upload(path, original, overwrite=replace))
                except UploadError as exc:
                    refused.append(str(exc))
            if refused and not added:
                raise gr.Error(" ".join(refused))
            lines = [f"- ajouté : `{name}`" for name in added] + [f"- **refusé** : {r}" for r in refused]
            return "\n".join(lines) + "\n\nCliquez « Reconstruire l'index » pour les rendre interrogeables.", None

        def rebuild(request: gr.Request, progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any]:  # noqa: B008
            try:
                service.require_admin(getattr(request, "username", None))
            except AccessDenied as exc:
                raise gr.Error(str(exc)) from exc
            progress(0, desc="Analyse des documents…")

            def step(done: int, total: int, _doc: str) -> None:
                progress((done, total), desc="Calcul des passages", unit="passages")

            try:
                report = service.rebuild(step)
            except Exception as exc:
                raise gr.Error(user_message(exc)) from exc
            return report_markdown(report.to_json()), status_text(request), gr.update(choices=list(service.status()["sources"]))

        demo.load(
            lambda request: gr.update(visible=service.is_admin(getattr(request, "username", None))),
            None,
            [admin_tab],
            api_visibility="private",
        )
        refresh.click(admin_refresh, None, [status_md, problems_md], api_name="status")
        admin_tab.select(admin_refresh, None, [status_md, problems_md], api_visibility="private")
        add_files.click(add_documents, [upload, overwrite], [upload_md, upload], api_name="upload")
        rebuild_btn.click(rebuild, None, [report_md, status_md, doc_filter], api_name="rebuild", concurrency_id="rebuild")

        def ask_api(question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
            """Answer one question with an explicit history (for scripts); returns the answer as JSON."""
            final = None
            try:
                for item in service.stream(question, history or []):
                    if isinstance(item, Answer):
                        final = item
            except Exception as exc:
                raise gr.Error(user_message(exc)) from exc
            assert final is not None
            return final.to_json()

        gr.api(ask_api, api_name="ask")
    return demo


def report_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report.get('documents_total', '?')} documents, {report.get('chunks_total', '?')} passages ; "
        f"{report.get('chunks_embedded', 0)} passages calculés en {report.get('seconds', 0):.1f} s."
    ]
    for key, label in (("added", "ajouté"), ("changed", "modifié"), ("removed", "supprimé")):
        lines += [f"- {label} : `{s}`" for s in report.get(key, [])]
    if report.get("unchanged"):
        lines.append(f"- inchangés : {len(report['unchanged'])}")
    lines += [f"- **échec** : `{f['source']}` — {f['error']}" for f in report.get("failed", [])]
    return "\n".join(lines)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
        service = Service(settings)
    except (ValueError, AnsweringError, IndexingError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    host = settings.host
    if not service.login_required and host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"Aucun utilisateur configuré : l'assistant reste sur 127.0.0.1 (et non {host}). "
            "Configurez ASSISTANT_USERS_FILE pour l'ouvrir au réseau.",
            file=sys.stderr,
        )
        host = "127.0.0.1"
    if not service.login_required:
        print(f"Sans comptes configurés : accessible seulement depuis cette machine (http://127.0.0.1:{settings.port}).")
    print(service.assistant.backend_note)
    print("Chargement des modèles…")
    service.warm_up()
    demo = build_app(service)
    demo.queue(default_concurrency_limit=1)
    demo.launch(
        server_name=host,
        server_port=settings.port,
        auth=(lambda u, p: service_check(service, u, p)) if service.login_required else None,
        auth_message="Connectez-vous avec votre compte de l'équipe.",
        max_file_size=f"{settings.max_upload_mb:g}mb",
        allowed_paths=[str(settings.docs_dir.resolve())],
        footer_links=[],
        css=CSS,
        show_error=False,
    )


def service_check(service: Service, username: str, password: str) -> bool:
    from assistant.service import check_password

    return check_password(service.users, username, password)


if __name__ == "__main__":
    main()

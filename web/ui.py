"""The Gradio page: a chat builder, an admin builder and the API. They only lay out and wire; the work is in ``web.handlers``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from index.loaders import SUPPORTED_SUFFIXES
from web import handlers as h
from web.handlers import bind
from web.service import WebService

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
.page-image img { max-width: 100%; height: auto; border: 1px solid #ccc; }
.page-image figcaption, .page-missing { font-size: 0.85em; color: #555; }
mark { background: #ffe58a; }
"""

# System fonts only: the default theme would fetch Google's fonts (privacy; the CSP blocks them anyway).
THEME = gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "sans-serif"], font_mono=["ui-monospace", "monospace"])

ANSWER_QUEUE = "answer"  # one Gradio concurrency group for every way to ask; the model queue orders them
ANSWER_CONCURRENCY = 16  # questions inside the pipeline at once (retrieval, waiting their turn, writing)
QUEUE_MAX = 64  # beyond this Gradio refuses new questions instead of letting them pile up
DELETE_CACHE = (3600, 3600)  # every hour, delete Gradio's cached files older than an hour


@dataclass
class ChatParts:
    chatbot: gr.Chatbot
    doc_filter: gr.Dropdown
    last_answer: gr.State


def build_chat(service: WebService) -> ChatParts:
    """The Discussion tab: chat, stop, examples, document filter, feedback, source viewer."""
    last_answer = gr.State(None)
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                elem_id="chatbot",
                height=520,
                buttons=["copy"],
                label="Discussion",
                placeholder="**Posez une question sur les documents de coopération.** Exemples ci-dessous.",
                feedback_options=("Like", "Dislike"),
                sanitize_html=True,
                allow_tags=False,  # no custom tags from the model's text
                latex_delimiters=[],  # no KaTeX: nothing the model writes is interpreted beyond plain Markdown
                allow_file_downloads=False,
            )
            with gr.Row():
                msg = gr.Textbox(
                    elem_id="chat-input",
                    placeholder="Votre question (français ou anglais)…",
                    show_label=False,
                    scale=6,
                    lines=1,
                    max_lines=4,
                    max_length=service.settings.max_question_chars,
                )
                send = gr.Button("Envoyer", variant="primary", elem_id="send", scale=1)
                stop = gr.Button("Arrêter", variant="stop", elem_id="stop", scale=1)
            gr.Examples(EXAMPLES, inputs=msg, label="Exemples de questions")
            with gr.Row():
                new_chat = gr.Button("Nouvelle conversation", elem_id="new-chat")
                doc_filter = gr.Dropdown(
                    choices=service.sources(),
                    multiselect=True,
                    label="Limiter la recherche à certains documents (facultatif)",
                    elem_id="doc-filter",
                )
            with gr.Accordion("Commenter la dernière réponse", open=False):
                comment = gr.Textbox(
                    label="Commentaire (facultatif, conservé localement pour les administrateurs)",
                    elem_id="comment",
                    max_length=2000,
                )
                send_comment = gr.Button("Envoyer le commentaire", elem_id="send-comment")
        with gr.Column(scale=2):
            gr.Markdown("### Voir une source dans son document")
            source_pick = gr.Radio(choices=[], label="Sources de la dernière réponse", elem_id="source-pick")
            viewer = gr.HTML(elem_id="viewer", js_on_load=None)

    chat_inputs = [msg, chatbot, doc_filter]
    chat_outputs = [chatbot, msg, last_answer, source_pick]
    answer = bind(h.respond, service)
    common: dict[str, Any] = {"concurrency_id": ANSWER_QUEUE, "concurrency_limit": ANSWER_CONCURRENCY}
    msg.submit(answer, chat_inputs, chat_outputs, api_name="chat", **common)
    send.click(answer, chat_inputs, chat_outputs, api_visibility="private", **common)
    stop.click(bind(h.stop_answer, service), None, None, api_name="stop", concurrency_limit=None, queue=False)
    new_chat.click(
        bind(h.new_conversation, service),
        None,
        [chatbot, msg, last_answer, source_pick, viewer],
        api_visibility="private",
    )
    source_pick.change(bind(h.show_source, service), [source_pick, last_answer], [viewer], api_visibility="private")
    chatbot.like(bind(h.on_like, service), [chatbot], None, api_visibility="private")
    send_comment.click(bind(h.on_comment, service), [comment, chatbot], [comment], api_visibility="private")
    return ChatParts(chatbot, doc_filter, last_answer)


def build_admin(service: WebService, doc_filter: gr.Dropdown) -> gr.Tab:
    """The Admin tab: status, upload, rebuild, questions without answer. Hidden from staff; every handler checks the role."""
    settings = service.settings
    with gr.Tab("Admin", id="admin", visible=not service.login_required, elem_id="admin-tab") as admin_tab:
        status_md = gr.Markdown(elem_id="status")
        with gr.Row():
            upload = gr.File(
                label=(
                    f"Ajouter des documents ({', '.join(SUPPORTED_SUFFIXES)} ; {settings.max_upload_mb:g} Mo et "
                    f"{settings.max_upload_files} fichiers au plus)"
                ),
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
        gr.Markdown("### Questions sans réponse, avis négatifs et commentaires (les plus récents d'abord)")
        problems_md = gr.Markdown(elem_id="problems")
        refresh = gr.Button("Rafraîchir", elem_id="refresh")

    refresh_fn = bind(h.admin_refresh, service)
    refresh.click(refresh_fn, None, [status_md, problems_md], api_name="status")
    admin_tab.select(refresh_fn, None, [status_md, problems_md], api_visibility="private")
    add_files.click(bind(h.add_documents, service), [upload, overwrite], [upload_md, upload], api_name="upload")
    rebuild_btn.click(
        bind(h.rebuild, service), None, [report_md, status_md, doc_filter], api_name="rebuild", concurrency_id="rebuild"
    )
    return admin_tab


def build_api(service: WebService) -> None:
    """``/ask``: one question with an explicit history, the answer as JSON; it waits in the same queue as the chat."""
    gr.api(bind(h.ask_api, service), api_name="ask", concurrency_id=ANSWER_QUEUE, concurrency_limit=ANSWER_CONCURRENCY)


def build_app(service: WebService) -> gr.Blocks:
    """Lay out and wire the page; nothing else."""
    login_note = (
        "Connexion requise."
        if service.login_required
        else "Sans comptes configurés : accessible seulement depuis cette machine (127.0.0.1)."
    )
    with gr.Blocks(title="Assistant coopération santé", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown("# Assistant documentaire · coopération internationale en santé")
        gr.Markdown(
            f"**Modèle** : {service.assistant.backend_note} · Réponses tirées uniquement de vos documents, avec leurs sources. · {login_note}",
            elem_id="backend-line",
        )
        if service.login_required:
            gr.HTML(
                f"<a href='{service.settings.root_path.rstrip('/')}/logout' id='logout-link'>Se déconnecter</a>",
                elem_id="logout",
                js_on_load=None,
            )
        with gr.Tabs():
            with gr.Tab("Discussion", id="chat"):
                chat = build_chat(service)
            admin_tab = build_admin(service, chat.doc_filter)
        build_api(service)
        demo.load(bind(h.show_admin, service), None, [admin_tab], api_visibility="private")
    demo.queue(max_size=QUEUE_MAX, default_concurrency_limit=1)
    return demo

"""The Gradio page: a chat builder, an admin builder and the API. They only lay out and wire; the work is in ``web.handlers``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from index.loaders import SUPPORTED_SUFFIXES
from web import handlers as h
from web.handlers import bind
from web.service import WebService

CSS = """
#backend-line p { margin: 0; color: #555; font-size: 0.9em; }
.passage-before, .passage-after { color: #777; }
.passage-main { background: #f6f6f0; padding: 0.4em; border-left: 3px solid #c9a227; }
.page-image img { max-width: 100%; height: auto; border: 1px solid #ccc; }
.page-image figcaption, .page-missing { font-size: 0.85em; color: #555; }
.page-text { white-space: pre-wrap; max-height: 24em; overflow-y: auto; font-size: 0.9em; border-left: 3px solid #ccc; padding-left: .6em; }
mark { background: #ffe58a; }
#examples .example { justify-content: flex-start; text-align: left; font-weight: normal; }
.eval-chart img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.eval-chart figcaption, .chart-missing { font-size: 0.85em; color: #555; }
"""

# System fonts only: the default theme would fetch Google's fonts (privacy; the CSP blocks them anyway).
THEME = gr.themes.Default(font=["system-ui", "Segoe UI", "Roboto", "sans-serif"], font_mono=["ui-monospace", "monospace"])

ANSWER_QUEUE = "answer"  # one Gradio concurrency group for every way to ask; the model queue orders them
ANSWER_CONCURRENCY = 16  # questions inside the pipeline at once (retrieval, waiting their turn, writing)
QUEUE_MAX = 64  # beyond this Gradio refuses new questions instead of letting them pile up
DELETE_CACHE = (3600, 3600)  # every hour, delete Gradio's cached files older than an hour


TITLE = "Assistant documentaire · coopération santé"
CONVERSATIONS_KEY = "coop-assistant-conversations"  # the browser's local storage key (no login)


@dataclass
class ChatParts:
    chatbot: gr.Chatbot
    doc_filter: gr.Dropdown
    last_answer: gr.State
    conv: gr.State
    browser: gr.BrowserState
    conv_list: gr.Radio
    examples: list[Any]  # the title, then the example buttons
    note: gr.Markdown


def build_sidebar(service: WebService) -> tuple[gr.Radio, gr.Textbox, gr.Button, gr.Button, gr.Button, gr.Markdown]:
    """The side panel: this person's conversations (the most recent first), open, rename, delete."""
    with gr.Sidebar(label="Conversations", open=True, position="left", elem_id="conversations-panel"):
        gr.Markdown("### Conversations")
        note = gr.Markdown(elem_id="conversations-note")
        conv_list = gr.Radio(choices=[], label="Ouvrir une conversation", elem_id="conversation-list")
        title = gr.Textbox(label="Titre de la conversation ouverte", elem_id="conversation-title", max_length=200)
        with gr.Row():
            rename = gr.Button("Renommer", size="sm", elem_id="rename-conversation")
            delete = gr.Button("Supprimer", size="sm", variant="stop", elem_id="delete-conversation")
        confirm = gr.Button("Confirmer la suppression", size="sm", variant="stop", visible=False, elem_id="confirm-delete")
    return conv_list, title, rename, delete, confirm, note


def build_chat(service: WebService) -> ChatParts:
    """The Discussion tab: chat, stop, examples, document filter, feedback, sharing, source viewer; the side panel."""
    last_answer = gr.State(None)
    conv = gr.State(h.empty_conversation())
    shown = gr.State([])  # the chat's messages as shown, kept on the server
    # without login the conversations live in this browser's local storage; the secret is stable across restarts
    browser = gr.BrowserState({"conversations": []}, storage_key=CONVERSATIONS_KEY, secret=service.browser_secret())
    conv_list, title_box, rename, delete, confirm, note = build_sidebar(service)
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
            # buttons rather than gr.Examples: their labels are whole questions (examples are cut at 60 characters)
            drawn = h.pad_examples(service.example_questions())
            with gr.Group(elem_id="examples"):
                examples_title = gr.Markdown("Exemples de questions, tirés des titres des documents :", visible=any(drawn))
                examples = [
                    gr.Button(q or "", size="sm", visible=bool(q), elem_classes=["example"], elem_id=f"example-{i}")
                    for i, q in enumerate(drawn)
                ]
            with gr.Row():
                new_chat = gr.Button("Nouvelle conversation", elem_id="new-chat")
                doc_filter = gr.Dropdown(
                    choices=service.sources(),
                    multiselect=True,
                    allow_custom_value=True,  # checked by the handler, which says in French what was removed
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
            with gr.Group(elem_id="share"):
                gr.Markdown("### Partager une réponse")
                share_pick = gr.Dropdown(choices=[], label="Réponse", elem_id="share-pick")
                share_text = gr.Textbox(
                    label="La réponse et ses sources, à copier dans une note ou un courriel",
                    lines=5,
                    max_lines=12,
                    interactive=False,
                    buttons=["copy"],
                    elem_id="share-text",
                )
                with gr.Row():
                    download_answer = gr.DownloadButton(
                        "Télécharger cette réponse (.md)", size="sm", interactive=False, elem_id="download-answer"
                    )
                    download_conv = gr.DownloadButton(
                        "Télécharger la conversation (.md)", size="sm", interactive=False, elem_id="download-conversation"
                    )
            gr.Markdown("### Voir une source dans son document")
            source_pick = gr.Radio(choices=[], label="Sources de la dernière réponse", elem_id="source-pick")
            viewer = gr.HTML(elem_id="viewer", js_on_load=None)

    share = [share_pick, share_text, download_answer, download_conv]
    # The page's messages are kept on the server (``shown``), never read back from the browser: a history
    # sent by a client is data it wrote, and Gradio would take the file paths in it for files to serve.
    chat_inputs = [msg, shown, doc_filter, conv]
    chat_outputs = [chatbot, shown, msg, last_answer, source_pick, conv]
    after_inputs = [conv, browser, doc_filter]
    after_outputs = [conv, browser, conv_list, title_box, *share, doc_filter]
    answer = bind(h.respond, service)
    after = bind(h.after_answer, service)
    common: dict[str, Any] = {"concurrency_id": ANSWER_QUEUE, "concurrency_limit": ANSWER_CONCURRENCY}
    msg.submit(answer, chat_inputs, chat_outputs, api_name="chat", **common).then(
        after, after_inputs, after_outputs, api_visibility="private"
    )
    send.click(answer, chat_inputs, chat_outputs, api_visibility="private", **common).then(
        after, after_inputs, after_outputs, api_visibility="private"
    )
    stop.click(bind(h.stop_answer, service), None, None, api_name="stop", concurrency_limit=None, queue=False)
    new_chat.click(
        bind(h.new_conversation, service),
        [browser],
        [chatbot, shown, msg, last_answer, source_pick, viewer, conv, conv_list, title_box, *share],
        api_visibility="private",
    )
    conv_list.input(
        bind(h.open_conversation, service),
        [conv_list, browser],
        [chatbot, shown, conv, title_box, source_pick, viewer, *share, confirm],
        api_visibility="private",
    )
    # explicit names: the API's own rename_conversation and delete_conversation are other endpoints (build_api)
    rename.click(
        bind(h.rename_conversation, service),
        [conv, title_box, browser],
        [conv, browser, conv_list],
        api_name="panel_rename",
        api_visibility="private",
    )
    delete.click(bind(h.ask_delete, service), [conv], [confirm], api_visibility="private")
    confirm.click(
        bind(h.delete_conversation, service),
        [conv, browser],
        [chatbot, shown, conv, title_box, browser, conv_list, confirm, *share],
        api_name="panel_delete",
        api_visibility="private",
    )
    share_pick.input(bind(h.pick_shared, service), [conv, share_pick], [share_text, download_answer], api_visibility="private")
    for button in examples:
        button.click(bind(h.use_example, service), [button], [msg], api_visibility="private")
    doc_filter.focus(bind(h.refresh_documents, service), [doc_filter], [doc_filter], api_visibility="private")
    source_pick.change(bind(h.show_source, service), [source_pick, last_answer], [viewer], api_visibility="private")
    chatbot.like(bind(h.on_like, service), [shown, conv], None, api_visibility="private")
    send_comment.click(bind(h.on_comment, service), [comment, shown, conv], [comment], api_visibility="private")
    return ChatParts(chatbot, doc_filter, last_answer, conv, browser, conv_list, [examples_title, *examples], note)


def build_curation(service: WebService) -> tuple[Callable[..., Any], list[Any], Callable[..., Any], list[Any]]:
    """The curation loop: abstentions and thumbs-down become golden questions; « Évaluer maintenant » and its chart."""
    gr.Markdown("### Curer les remontées : en faire des questions de référence")
    curation_refresh = gr.Button("Rafraîchir la liste", size="sm", elem_id="curation-refresh")
    row_pick = gr.Dropdown(choices=[], label="Remontée (abstention, avis négatif, commentaire)", elem_id="curation-row")
    detail = gr.Markdown(elem_id="curation-detail")
    question = gr.Textbox(
        label="Question telle qu'un collègue la poserait (modifiable ; une relance doit tenir seule)",
        elem_id="curation-question",
        max_length=1000,
    )
    unanswerable = gr.Button("Les documents ne contiennent pas cette information", elem_id="curate-unanswerable")
    with gr.Group():
        passage_pick = gr.Radio(choices=[], label="Passage qui contient la réponse", elem_id="curation-passage", type="value")
        passage_text = gr.Textbox(
            label="Texte du passage : sélectionnez à la souris les mots qui répondent",
            interactive=False,
            lines=4,
            max_lines=14,
            elem_id="curation-passage-text",
        )
        with gr.Row():
            words = gr.Textbox(label="Mots qui répondent (copiés du passage)", elem_id="curation-words", max_length=500)
            pattern = gr.Textbox(
                label="Motif de réponse proposé (expression régulière, minuscules sans accents ; modifiable)",
                elem_id="curation-pattern",
                max_length=500,
            )
        answerable = gr.Button("Enregistrer comme question avec réponse", variant="primary", elem_id="curate-answerable")
    saved = gr.Markdown(elem_id="curation-saved")
    curated = gr.Markdown(elem_id="curated-set")
    with gr.Row():
        remove_id = gr.Textbox(
            label="Retirer une question curée (son identifiant, ex. cur-0001)", elem_id="curation-remove-id", max_length=40
        )
        remove = gr.Button("Retirer", size="sm", elem_id="curation-remove")
    gr.Markdown("### Évaluer le jeu curé et le jeu d'exemple")
    with gr.Row():
        evaluate = gr.Button("Évaluer maintenant", variant="primary", elem_id="evaluate-now")
        stop_eval = gr.Button("Arrêter l'évaluation", size="sm", elem_id="evaluate-stop")
    evaluation = gr.Markdown(elem_id="evaluation-status")
    chart = gr.HTML(elem_id="evaluation-chart", js_on_load=None)
    timer = gr.Timer(2.0, active=False)

    view = [row_pick, curated, evaluation, chart]
    refresh_fn = bind(h.curation_refresh, service)
    curation_refresh.click(refresh_fn, None, view, api_visibility="private")
    row_pick.change(
        bind(h.curation_open, service),
        [row_pick],
        [detail, passage_pick, question, passage_text, words, pattern],
        api_visibility="private",
    )
    passage_pick.change(
        bind(h.curation_passage, service), [row_pick, passage_pick], [passage_text, words, pattern], api_visibility="private"
    )
    passage_text.select(bind(h.curation_words_selected, service), None, [words, pattern], api_visibility="private")
    words.input(bind(h.curation_propose, service), [words], [pattern], api_visibility="private")
    unanswerable.click(bind(h.curate_unanswerable, service), [row_pick, question], [saved, *view], api_visibility="private")
    answerable.click(
        bind(h.curate_answerable, service),
        [row_pick, question, passage_pick, words, pattern],
        [saved, *view],
        api_visibility="private",
    )
    remove.click(bind(h.curation_remove, service), [remove_id], [saved, *view], api_visibility="private")
    evaluate.click(bind(h.evaluate_now, service), None, [evaluation, chart, timer], api_visibility="private")
    stop_eval.click(bind(h.evaluation_stop, service), None, [evaluation], api_visibility="private")
    poll_fn = bind(h.evaluation_poll, service)
    timer.tick(poll_fn, None, [evaluation, chart, timer], api_visibility="private")
    return refresh_fn, view, poll_fn, [evaluation, chart, timer]


def build_admin(service: WebService, chat: ChatParts) -> gr.Tab:
    """The Admin tab: status, upload, rebuild, the curation loop. Hidden from staff; every handler checks the role."""
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
        curation_fn, curation_view, poll_fn, poll_outputs = build_curation(service)

    refresh_fn = bind(h.admin_refresh, service)
    refresh.click(refresh_fn, None, [status_md, problems_md], api_name="status")
    admin_tab.select(refresh_fn, None, [status_md, problems_md], api_visibility="private")
    admin_tab.select(curation_fn, None, curation_view, api_visibility="private")
    admin_tab.select(poll_fn, None, poll_outputs, api_visibility="private")  # follows a run started before a reload
    add_files.click(bind(h.add_documents, service), [upload, overwrite], [upload_md, upload], api_name="upload")
    rebuild_btn.click(
        bind(h.rebuild, service), None, [report_md, status_md, chat.doc_filter], api_name="rebuild", concurrency_id="rebuild"
    ).then(bind(h.after_rebuild, service), None, [*chat.examples, *curation_view], api_visibility="private")
    return admin_tab


def build_api(service: WebService) -> None:
    """The HTTP API: ``/ask`` (one question with an explicit history, in the chat's queue), this person's
    ``/conversations`` and ``/conversation`` (and rename, delete, feedback), and the admins' curation loop."""
    gr.api(bind(h.ask_api, service), api_name="ask", concurrency_id=ANSWER_QUEUE, concurrency_limit=ANSWER_CONCURRENCY)
    gr.api(bind(h.conversations_api, service), api_name="conversations")
    gr.api(bind(h.conversation_api, service), api_name="conversation")
    gr.api(bind(h.rename_conversation_api, service), api_name="rename_conversation")
    gr.api(bind(h.delete_conversation_api, service), api_name="delete_conversation")
    gr.api(bind(h.feedback_api, service), api_name="feedback")
    gr.api(bind(h.problems_api, service), api_name="problems")
    gr.api(bind(h.curate_api, service), api_name="curate")
    gr.api(bind(h.evaluate_api, service), api_name="evaluate")
    gr.api(bind(h.evaluation_api, service), api_name="evaluation")


def build_app(service: WebService) -> gr.Blocks:
    """Lay out and wire the page; nothing else."""
    login_note = (
        "Connexion requise."
        if service.login_required
        else "Sans comptes configurés : accessible seulement depuis cette machine (127.0.0.1)."
    )
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown("# Assistant documentaire · coopération internationale en santé")
        gr.Markdown(
            # which model answers and whether its server is up is for admins (their page's status), not for everyone
            f"Réponses tirées uniquement de vos documents, avec leurs sources. · {login_note}",
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
            admin_tab = build_admin(service, chat)
        build_api(service)
        demo.load(bind(h.show_admin, service), None, [admin_tab], api_visibility="private")
        demo.load(
            bind(h.refresh_page, service),
            [chat.browser],
            [chat.conv_list, chat.doc_filter, chat.note, *chat.examples],
            api_visibility="private",
        )
    demo.queue(max_size=QUEUE_MAX, default_concurrency_limit=1)
    return demo

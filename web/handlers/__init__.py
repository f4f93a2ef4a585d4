"""Gradio handlers, one module per screen: module-level functions that take the service first.

``common.bind`` gives Gradio a function without that first parameter (keeping the annotations
Gradio reads to pass ``gr.Request`` and ``gr.Progress``); ``common.admin_only`` is the one guard of
every admin handler and ``common.user_errors`` the one place where the web layer's errors become the
page's message. Roles, escaping and messages are unit-tested by calling these functions directly.

- ``chat``: a question answered, sources first; the stop button
- ``panel``: the conversations panel, and what follows an answer
- ``sharing``: an answer or a conversation as Markdown; a source shown in its document
- ``feedback``: thumbs and comments
- ``api``: the HTTP API for scripts
- ``admin``: status, uploads, rebuild
- ``curation``: remontées into golden questions, evaluations
"""

from web.handlers.admin import add_documents, admin_refresh, rebuild, show_admin
from web.handlers.api import (
    api_error,
    ask_api,
    conversation_api,
    conversations_api,
    delete_conversation_api,
    feedback_api,
    rename_conversation_api,
)
from web.handlers.chat import (
    REREADING,
    SEARCHING,
    STOPPED,
    content_text,
    conversation,
    respond,
    sources_gone_message,
    stop_answer,
)
from web.handlers.common import (
    admin_only,
    bind,
    empty_conversation,
    error,
    inform,
    read_conversation,
    toast_text,
    user_errors,
    username,
    warn,
)
from web.handlers.curation import (
    after_rebuild,
    curate_answerable,
    curate_api,
    curate_unanswerable,
    curation_open,
    curation_passage,
    curation_propose,
    curation_refresh,
    curation_remove,
    curation_words_selected,
    evaluate_api,
    evaluate_now,
    evaluation_api,
    evaluation_poll,
    evaluation_stop,
    problems_api,
)
from web.handlers.feedback import on_comment, on_like
from web.handlers.panel import (
    EXAMPLES,
    after_answer,
    ask_delete,
    conversations_note,
    delete_conversation,
    examples_update,
    new_conversation,
    open_conversation,
    pad_examples,
    refresh_documents,
    refresh_page,
    rename_conversation,
    use_example,
)
from web.handlers.sharing import pick_shared, share_updates, show_source

__all__ = [
    "EXAMPLES",
    "REREADING",
    "SEARCHING",
    "STOPPED",
    "F",
    "add_documents",
    "admin_only",
    "admin_refresh",
    "after_answer",
    "after_rebuild",
    "api_error",
    "ask_api",
    "ask_delete",
    "bind",
    "content_text",
    "conversation",
    "conversation_api",
    "conversations_api",
    "conversations_note",
    "curate_answerable",
    "curate_api",
    "curate_unanswerable",
    "curation_open",
    "curation_passage",
    "curation_propose",
    "curation_refresh",
    "curation_remove",
    "curation_words_selected",
    "delete_conversation",
    "delete_conversation_api",
    "empty_conversation",
    "error",
    "evaluate_api",
    "evaluate_now",
    "evaluation_api",
    "evaluation_poll",
    "evaluation_stop",
    "examples_update",
    "feedback_api",
    "inform",
    "new_conversation",
    "on_comment",
    "on_like",
    "open_conversation",
    "pad_examples",
    "pick_shared",
    "problems_api",
    "read_conversation",
    "rebuild",
    "refresh_documents",
    "refresh_page",
    "rename_conversation",
    "rename_conversation_api",
    "respond",
    "share_updates",
    "show_admin",
    "show_source",
    "sources_gone_message",
    "stop_answer",
    "toast_text",
    "use_example",
    "user_errors",
    "username",
    "warn",
]

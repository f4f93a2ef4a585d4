"""Everything the chat shows that a document, a user or the model wrote, turned into inert text.

Chat messages and the admin page are Markdown rendered by Gradio: text from outside goes through
``text.plain_markdown`` (no raw HTML, no links, no images, no code fence, so no request to another
site, no form, no diagram). The source viewer is HTML: everything in it is escaped with
``html.escape``. Only this package writes markup: ``text`` (inert Markdown, the chat's messages),
``viewer`` (the source viewer), ``conversations`` (conversations shown again and exported),
``admin`` (the admin page).
"""

from web.render.admin import (
    chart_html,
    curated_markdown,
    evaluation_markdown,
    passage_choices_of,
    problem_choices,
    problem_detail_markdown,
    problems_markdown,
    report_markdown,
    status_markdown,
)
from web.render.conversations import (
    conversation_choices,
    conversation_export_markdown,
    conversation_messages,
    day_of,
    markdown_text,
    share_choices,
    turn_export_markdown,
    turn_messages,
    turn_sources_markdown,
)
from web.render.text import (
    CITATION_MARKER,
    answer_markdown,
    blockquote,
    cut_text,
    highlight_markdown,
    passage_heading,
    passages_markdown,
    plain_markdown,
    source_choices,
    sources_markdown,
    waiting_markdown,
)
from web.render.viewer import PAGE_TEXT_SHOWN, document_url, page_image_html, viewer_html

__all__ = [
    "CITATION_MARKER",
    "PAGE_TEXT_SHOWN",
    "answer_markdown",
    "blockquote",
    "chart_html",
    "conversation_choices",
    "conversation_export_markdown",
    "conversation_messages",
    "curated_markdown",
    "cut_text",
    "day_of",
    "document_url",
    "evaluation_markdown",
    "highlight_markdown",
    "markdown_text",
    "page_image_html",
    "passage_choices_of",
    "passage_heading",
    "passages_markdown",
    "plain_markdown",
    "problem_choices",
    "problem_detail_markdown",
    "problems_markdown",
    "report_markdown",
    "share_choices",
    "source_choices",
    "sources_markdown",
    "status_markdown",
    "turn_export_markdown",
    "turn_messages",
    "turn_sources_markdown",
    "viewer_html",
    "waiting_markdown",
]

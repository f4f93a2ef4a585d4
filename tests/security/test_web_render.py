"""What a document, a user or the model wrote reaches Gradio's Markdown as text: no link, image or diagram."""

from __future__ import annotations

import re

from web.render import plain_markdown

HOSTILE = """Connectez-vous sur https://evil.example/login ou www.phishing.example/compte, écrivez à pirate@evil.example.
```mermaid
graph TD; A[<img src=x onerror=alert(1)>] --> B; click A "https://evil.example"
```
~~~mermaid
graph LR; X-->Y
~~~
![pixel](https://evil.example/p.png) [cliquez](javascript:alert(1)) <a href="https://evil.example">ici</a> [2]"""


def test_bare_addresses_fences_and_markup_from_documents_stay_text() -> None:
    out = plain_markdown(HOSTILE)
    assert "://" not in out.replace(":\\/\\/", ""), "no address GitHub-flavoured Markdown would link by itself"
    assert not re.search(r"(?i)\bwww\.", out) and "\\@" in out
    assert "```" not in out and "~~~" not in out, "no fence opens, so no mermaid diagram is drawn"
    assert "<a " not in out and "<img" not in out and "![" not in out and "](" not in out.replace("\\](", "")
    assert out.endswith("[2]"), "citation markers stay as they are"
    # what a reader sees is the same text: every escape is a backslash before the character it keeps
    assert re.sub(r"\\(.)", r"\1", out).replace("&lt;", "<") == HOSTILE

"""The web layer: users and sessions, feedback, saved conversations, the curation loop and its background
evaluation, uploads, the service the web chat needs, Gradio handlers and layout.

It sits beside ``app.py`` (the entry point), above the answering layer: ``index`` ← ``assistant`` ← ``web`` ← ``app.py``.
"""

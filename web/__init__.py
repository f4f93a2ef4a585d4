"""The web layer: users and sessions, feedback, uploads, the service the web chat needs, Gradio handlers and layout.

It sits beside ``app.py`` (the entry point), above the answering layer: ``index`` ← ``assistant`` ← ``web`` ← ``app.py``.
"""

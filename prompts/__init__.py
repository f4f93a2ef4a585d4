"""The prompt templates (``*.md`` here), shipped inside the installed package; ``assistant.prompts`` reads them."""

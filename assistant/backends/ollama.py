"""A model served by the user's own Ollama: the only module that speaks to Ollama."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import httpx

from assistant.backends import BackendUnavailable, GenerationError, Message, _without_credentials


def _approx_tokens(messages: Sequence[Message]) -> int:
    return sum(len(m["content"]) for m in messages) // 3 + 16 * len(messages)


class OllamaBackend:
    """A model served by the user's own Ollama (``ollama serve``), through LangChain's ChatOllama."""

    name = "ollama"

    def __init__(self, url: str, model: str, num_ctx: int = 8192, temperature: float = 0.1, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.model = model
        self.num_ctx = num_ctx
        self.temperature = temperature
        self.timeout = timeout
        self.label = f"Ollama · {model}"

    def check(self, timeout: float = 3.0) -> None:
        """Raise BackendUnavailable unless the server answers and has the model pulled."""
        try:
            response = httpx.get(f"{self.url}/api/tags", timeout=timeout)
            response.raise_for_status()
            names = {m.get("name", "") for m in response.json().get("models", [])}
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendUnavailable(
                f"Ollama ne répond pas à {_without_credentials(self.url)}. Lancez « ollama serve » (ou vérifiez ASSISTANT_OLLAMA_URL), "
                "ou choisissez le modèle intégré (--backend llamacpp)."
            ) from exc
        wanted = {self.model, f"{self.model}:latest"}
        if not names & wanted:
            raise BackendUnavailable(
                f"Le modèle « {self.model} » n'est pas installé dans Ollama. Lancez « ollama pull {self.model} » "
                f"(modèles présents : {', '.join(sorted(names)) or 'aucun'})."
            )

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        from langchain_ollama import ChatOllama

        # Ollama silently cuts prompts longer than num_ctx: size the window to the prompt.
        needed = _approx_tokens(messages) + max_tokens + 256
        num_ctx = max(self.num_ctx, 1 << (needed - 1).bit_length())
        chat = ChatOllama(
            model=self.model,
            base_url=self.url,
            num_ctx=num_ctx,
            num_predict=max_tokens,
            temperature=self.temperature,
            client_kwargs={"timeout": self.timeout},
        )
        finished = False
        try:
            for chunk in chat.stream([(m["role"], m["content"]) for m in messages]):
                finished = finished or bool(chunk.response_metadata.get("done") or chunk.response_metadata.get("done_reason"))
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
            if not finished:  # Ollama ends every answer with a "done" line; no line means a cut
                raise GenerationError("stream ended without Ollama's final message")
        except Exception as exc:  # httpx, ollama.ResponseError, JSON errors: all mean the same to a user
            if "not found" in str(exc).lower():
                raise BackendUnavailable(
                    f"Le modèle « {self.model} » n'est pas installé dans Ollama. Lancez « ollama pull {self.model} »."
                ) from exc
            raise GenerationError(
                f"La connexion à Ollama ({_without_credentials(self.url)}) a été coupée pendant la réponse. "
                "Vérifiez que « ollama serve » tourne toujours, puis reposez la question."
            ) from exc

"""A model behind a server that speaks the OpenAI chat API: the only module that uses the ``openai`` client."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from assistant.backends import BackendUnavailable, GenerationError, Message, _without_credentials
from assistant.config import Settings


class OpenAICompatibleBackend:
    """A model behind any server that speaks the OpenAI chat API (vLLM, llama.cpp's server, LM Studio, Ollama, TGI, ...).

    Talks to it with the ``openai`` client, which gives the stream's finish_reason
    and the HTTP status of a refusal as they are. The API key stays in this object:
    it is never part of a message, a label or a log line.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str | None,
        api_key: str | None = None,
        temperature: float = 0.1,
        timeout: float = 120.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model or ""
        self.temperature = temperature
        self.timeout = timeout
        self.where = _without_credentials(self.base_url)
        self.label = f"Serveur de modèles · {self.model or '?'}"
        self._has_key = bool(api_key)
        # The client insists on a key; servers started without one ignore the header.
        self._api_key = api_key or "sans-cle"
        self._clients: dict[tuple[float, int], Any] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatibleBackend:
        """Return the server the settings name, or raise BackendUnavailable saying what to configure."""
        if not settings.openai_base_url:
            raise BackendUnavailable(
                "Aucun serveur de modèles n'est configuré : indiquez son adresse dans ASSISTANT_OPENAI_BASE_URL "
                "(par exemple http://127.0.0.1:8000/v1) et le modèle dans ASSISTANT_OPENAI_MODEL."
            )
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(settings.openai_base_url, settings.openai_model, key, settings.temperature, settings.openai_timeout)

    def __repr__(self) -> str:
        return f"OpenAICompatibleBackend({self.where!r}, model={self.model!r})"

    def _client(self, timeout: float, retries: int) -> Any:
        import openai

        key = (timeout, retries)
        if key not in self._clients:  # one connection pool per use, shared by the chat's threads
            self._clients[key] = openai.OpenAI(
                base_url=self.base_url, api_key=self._api_key, timeout=timeout, max_retries=retries
            )
        return self._clients[key]

    def _refused(self, exc: Any) -> BackendUnavailable:
        status = getattr(exc, "status_code", "?")
        if not self._has_key:
            return BackendUnavailable(
                f"Le serveur de modèles {self.where} demande une clé d'API (HTTP {status}) : "
                "indiquez-la dans ASSISTANT_OPENAI_API_KEY."
            )
        return BackendUnavailable(
            f"Le serveur de modèles {self.where} refuse la clé d'API (HTTP {status}). Vérifiez ASSISTANT_OPENAI_API_KEY : "
            "ce doit être la clé donnée au serveur (son option --api_key ou --api-key)."
        )

    def _down(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"Le serveur de modèles ne répond pas à {self.where}. Démarrez-le (par exemple « python -m llama_cpp.server », "
            "« vllm serve » ou « ollama serve ») ou corrigez ASSISTANT_OPENAI_BASE_URL, "
            "ou choisissez le modèle intégré (--backend llamacpp)."
        )

    def models(self, timeout: float = 3.0) -> list[str]:
        """Return the names of the models the server lists (GET /models)."""
        import openai

        try:
            return [m.id for m in self._client(timeout, 0).models.list()]
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._refused(exc) from exc
        except openai.NotFoundError as exc:
            raise BackendUnavailable(
                f"{self.where} ne répond pas comme une API OpenAI ({self.where}/models introuvable). L'adresse se termine "
                "en général par /v1 (par exemple http://127.0.0.1:8000/v1) : corrigez ASSISTANT_OPENAI_BASE_URL."
            ) from exc
        except openai.APIConnectionError as exc:
            raise self._down() from exc
        except openai.APIError as exc:  # another status, or a body that is not a model list
            raise BackendUnavailable(
                f"Le serveur de modèles {self.where} a répondu par une erreur ({getattr(exc, 'status_code', None) or exc}) "
                "quand on lui a demandé ses modèles. Consultez son journal, puis relancez."
            ) from exc

    def check(self, timeout: float = 3.0) -> None:
        """Raise BackendUnavailable unless the server answers, accepts the key and lists the model."""
        names = self.models(timeout)
        served = ", ".join(sorted(names)) or "aucun"
        if not self.model:
            raise BackendUnavailable(
                f"Indiquez dans ASSISTANT_OPENAI_MODEL lequel des modèles de {self.where} doit répondre (modèles servis : {served})."
            )
        if self.model not in names and f"{self.model}:latest" not in names:
            raise BackendUnavailable(
                f"Le modèle « {self.model} » n'est pas servi par {self.where} (modèles servis : {served}). "
                "Corrigez ASSISTANT_OPENAI_MODEL, ou chargez ce modèle dans le serveur."
            )

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        import openai

        delivered = False
        finished = False
        try:
            chunks = self._client(self.timeout, 1).chat.completions.create(
                model=self.model,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                max_tokens=max_tokens,
                temperature=self.temperature,
                stream=True,
            )
            try:
                for chunk in chunks:
                    for choice in chunk.choices:
                        finished = finished or bool(choice.finish_reason)
                        if choice.delta is not None and choice.delta.content:
                            delivered = True
                            yield choice.delta.content
            finally:
                chunks.close()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise self._refused(exc) from exc
        except openai.NotFoundError as exc:
            raise BackendUnavailable(
                f"Le modèle « {self.model} » est introuvable sur {self.where}. Corrigez ASSISTANT_OPENAI_MODEL."
            ) from exc
        except openai.APITimeoutError as exc:
            raise GenerationError(
                f"Le serveur de modèles ({self.where}) n'a pas répondu dans les {self.timeout:.0f} s prévues. "
                "Il est peut-être surchargé : reposez la question un peu plus tard, ou augmentez ASSISTANT_OPENAI_TIMEOUT."
            ) from exc
        except openai.APIConnectionError as exc:
            if not delivered:
                raise self._down() from exc
            raise GenerationError(
                f"La connexion au serveur de modèles ({self.where}) a été coupée pendant la réponse. "
                "Vérifiez que le serveur tourne toujours, puis reposez la question."
            ) from exc
        except openai.APIError as exc:  # a refused request (context too long, ...) or an error event mid-stream
            raise GenerationError(
                f"Le serveur de modèles ({self.where}) a interrompu la réponse par une erreur "
                f"({getattr(exc, 'status_code', None) or 'en cours de réponse'}). Consultez son journal, puis reposez la question."
            ) from exc
        if not finished:  # every complete answer ends with a chunk that carries a finish_reason
            raise GenerationError(
                f"La réponse du serveur de modèles ({self.where}) s'est arrêtée avant la fin. "
                "Le serveur a peut-être été arrêté ou a interrompu la réponse pour une autre demande : reposez la question."
            )

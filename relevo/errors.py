"""The one error hierarchy. Each message says what to do about it."""


class RelevoError(Exception):
    """Base of every error Relevo raises on purpose."""


class ConfigurationError(RelevoError):
    """A setting is missing or wrong."""


class RedisUnavailableError(RelevoError):
    """Redis cannot be reached; nothing that needs shared state can run."""


class KnowledgeBaseError(RelevoError):
    """The knowledge base or its index cannot be used."""


class IndexNotBuiltError(KnowledgeBaseError):
    """No index has been built yet."""


class RasaUnavailableError(RelevoError):
    """Rasa did not answer a turn (down, timed out or failed); the message is kept for later."""

    def __init__(self, message: str, *, ambiguous: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        """True when Rasa may have processed the message before the failure (a timeout)."""
        self.status = status
        """The HTTP status when Rasa answered with an error: it is up, and failed this turn."""

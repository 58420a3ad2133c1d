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

"""One exception family, so callers and the CLI can tell our errors (with advice) from bugs."""


class RecgenError(Exception):
    """Base of every error recgen raises on purpose; the message says what to do."""


class InputError(RecgenError):
    """A product, style, D-SID or request value that cannot be used as given."""


class CatalogError(InputError):
    """The catalog or a product record is missing, malformed or unknown."""


class SIDError(InputError):
    """A D-SID that does not exist in the fitted code space."""


class ConflictError(InputError):
    """A request that contradicts one made before under the same id (an event id, an idempotency key)."""


class MediaError(InputError):
    """An image, audio or video file that is missing or cannot be decoded."""


class ToolMaskError(RecgenError):
    """An agent asked for a tool outside its own tool mask."""


class BackendUnavailableError(RecgenError):
    """A configured backend (GPU pipeline, voice, font) is not installed or its weights are absent."""


class RunStoreError(RecgenError):
    """The run folder cannot be written, or a run to resume does not exist."""


class RunBusyError(RunStoreError):
    """Another process is writing the run (it holds the run's lock)."""


class StorageError(RunStoreError):
    """A write failed for lack of room or permission (disk full, read-only, file-size limit); resumable."""


def one_line(e: Exception) -> str:
    """A pydantic validation error as one readable line ('price: Input should be greater than 0'), without
    its links; any other error as its first line."""
    errors = getattr(e, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            field = ".".join(map(str, first.get("loc", ()))) or "value"
            return f"{field}: {first['msg']}"
        except (IndexError, KeyError, TypeError):
            pass
    return str(e).splitlines()[0] if str(e) else type(e).__name__

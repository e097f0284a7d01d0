"""One error hierarchy: every failure hubmine reports is a HubmineError with a one-line message."""


def one_line(text: str | None) -> str:
    """`text` with every run of whitespace, newlines included, made one space."""
    return " ".join(str(text or "").split())


class HubmineError(Exception):
    """Base of every error hubmine raises on purpose; its message is one line for the user."""

    def __init__(self, message: str = "") -> None:
        # Messages may quote what a server sent (an HTML error page); whatever it was, keep one line.
        super().__init__(one_line(message))


class UsageError(HubmineError):
    """The command line asks for something contradictory, or for nothing: exit status 2, like a bad option."""


class SchemaError(HubmineError):
    """A table does not match its schema file."""


class SnapshotError(HubmineError):
    """A snapshot is missing, incomplete or inconsistent."""


class HubError(HubmineError):
    """The Hub (or a mirror) could not be used."""


class HubUnreachable(HubError):
    """No connection to the endpoint at all."""


class HubAuthError(HubError):
    """The token was refused."""


class HubResponseError(HubError):
    """A request kept failing after its retries, or came back unusable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class StorageError(HubmineError):
    """The data directory could not be written: its disk is full, it is read-only, or permission is denied."""


class DamagedFileError(HubmineError):
    """A file hubmine wrote no longer reads: cut short, emptied or overwritten."""

    def __init__(self, path: object, problem: str, remedy: str) -> None:
        super().__init__(f"{path} is damaged ({problem}); {remedy}")
        self.path = path


class BusyError(HubmineError):
    """Another hubmine run holds the data directory."""


class SettingError(HubmineError):
    """An environment variable holds a value hubmine cannot use."""

"""The error family. Each message is one line that says what is wrong and what to do next;
the CLI prints it and exits 1, with no traceback."""

import errno

from pydantic import ValidationError

from factory.models import Usage


class FactoryError(Exception):
    """A problem the user can fix (bad input, config, environment)."""


class ConfigError(FactoryError):
    """A config file or option is invalid."""


class DataFileError(FactoryError):
    """A shipped or user data file (prompt, taxonomy, persona bank) is missing or malformed."""


class BackendUnavailable(FactoryError):
    """A backend cannot start: server unreachable, model file missing, extra not installed.
    `config_error` marks a cause a retry cannot fix (wrong URL, refused key)."""

    def __init__(self, message: str, *, config_error: bool = False) -> None:
        super().__init__(message)
        self.config_error = config_error


class RunDirError(FactoryError):
    """The output directory cannot be used (not writable, holds a different run, corrupt)."""


class BackendFailing(FactoryError):
    """The backend failed on many dialogues in a row: the run stops, resumable."""


class RunIncomplete(FactoryError):
    """A run finished but some dialogues failed on the backend; a rerun retries them."""


class BudgetSpent(FactoryError):
    """The run's token or money budget is used up; a rerun with a higher limit goes on."""


class MissingExtra(FactoryError):
    """An optional package is not installed; `package` names it, `extra` the pip extra."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{package} is not installed: run `pip install 'esc-factory[{extra}]'`"
            f" (or `pip install -e '.[{extra}]'` in a checkout)"
        )


class HubError(FactoryError):
    """The Hugging Face Hub refused a push or could not be reached."""


class EmptyResult(FactoryError):
    """Nothing survived the recipe; carries the funnel so the CLI can show why."""

    def __init__(self, message: str, funnel: str) -> None:
        super().__init__(message)
        self.funnel = funnel


class TooFewDialogues(FactoryError):
    """A measure needs more dialogues than the set holds."""


class BackendError(Exception):
    """A model call failed after its retries. Not a user error: the dialogue records it.

    `rejected` marks a request the server refused as such (HTTP 400, 404, 422: context too
    long, unknown model); repeating it cannot help, unlike a timeout or a 503."""

    def __init__(self, message: str, usage: Usage | None = None, *, rejected: bool = False) -> None:
        super().__init__(message)
        self.usage = usage or Usage()
        self.rejected = rejected


class BackendNotStarted(BackendError):
    """A backend was called before `start()` (or after `close()`): a bug in the caller."""

    def __init__(self, name: str, usage: Usage | None = None) -> None:
        super().__init__(
            f"the {name} backend was called before start() (or after close()):"
            " await backend.start() first",
            usage,
        )


def not_dialogues(what: str, lines: int) -> DataFileError:
    """The error for an input of `lines` lines none of which is a dialogue."""
    return DataFileError(
        f"{what}: none of its {lines} lines is a dialogue in the factory's format"
        " (raw ESConv? convert it with `factory import esconv`)"
    )


def first_error_line(exc: Exception) -> str:
    """The first problem in a validation or YAML error, as `key.path: message`."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc}: {msg}" if loc else msg
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# What the machine refused, in words, and what to do: a full disk, a read-only or forbidden
# place, a name too long. Anything else an OSError says is a fault of the tool, not the user.
_OS_FAULTS = {
    errno.ENOSPC: ("no space left on the device", "free some space or write elsewhere"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or write elsewhere"),
    errno.EFBIG: ("the file grew past the size this process may write", "raise the limit"),
    errno.EROFS: ("the file system is read-only", "write somewhere writable"),
    errno.EACCES: ("permission denied", "write somewhere you may write, or fix the permissions"),
    errno.EPERM: ("operation not permitted", "write somewhere you may write"),
    errno.ENAMETOOLONG: ("the file name is too long", "use a shorter name"),
    errno.EIO: (
        "an input/output error (a failing disk, or a network file system that went away)",
        "check the device",
    ),
}


def os_fault_line(exc: OSError) -> str | None:
    """One line for an OSError the user can act on, or None for any other."""
    fault = _OS_FAULTS.get(exc.errno or -1)
    if fault is None:
        return None
    what, todo = fault
    verb = "on" if exc.errno == errno.EIO else "writing"  # EIO comes from reads as well
    where = f" {verb} {exc.filename}" if exc.filename else ""
    return f"{what}{where}: {todo}, then rerun the same command"

"""The toolkit's exception tree: what went wrong decides the exit code, never a verdict.

A ``ConfigError`` (a profile, scenario or waiver file) is the user's input (exit 3); a
``HarnessError`` means the audit machinery could not observe the target (exit 4). Neither may ever
turn into a PASS.
"""

from __future__ import annotations


class ByokAuditError(Exception):
    """Base of every error the toolkit raises on purpose."""


class ConfigError(ByokAuditError):
    """A file the user wrote is invalid. Names the file, the line and the field so it can be fixed."""

    def __init__(
        self, message: str, *, file: str, line: int | None = None, field: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        where = file if line is None else f"{file}:{line}"
        what = f"{field}: {message}" if field else message
        super().__init__(f"{where}: {what}")


class ProfileError(ConfigError):
    """A target profile is invalid."""


class ScenarioError(ConfigError):
    """A scenario file is invalid."""


class HarnessError(ByokAuditError):
    """The audit could not run as designed; its evidence is incomplete."""


class ProxyError(HarnessError):
    """The intercepting proxy failed to start, crashed, or could not be stopped."""


class TargetError(HarnessError):
    """The target platform could not be started, became unreachable or crashed."""


class TargetNotReady(TargetError):
    """The target did not answer its readiness URL before the deadline."""


class TargetExited(TargetError):
    """The target process exited while the audit needed it."""


class DriverError(HarnessError):
    """A call to the target's API failed below HTTP (connection refused, reset, bad template)."""


class RequestTimeout(DriverError):
    """A call to the target's API did not finish within the profile's request timeout."""

"""Errors a user can cause; each carries one sentence fit to show as is."""

from __future__ import annotations


class StrataError(Exception):
    """Base for errors that reach the user as one clear sentence."""


class ImportFailed(StrataError):
    """A file could not be read as an image or layered document."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot open {self.path}: {reason}")


class ExportFailed(StrataError):
    """A file could not be written; any previous file at that path is intact."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot save {self.path}: {reason}")

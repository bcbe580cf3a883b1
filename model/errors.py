"""User-facing input errors.

Every problem with what a user gave us (a scenario file, a command-line override, a parameter file, an
upload in the dashboard) is raised as :class:`InputError`. The CLI turns it into one line on stderr and exit
code 2; the dashboard shows the same line in the page. Internal bugs raise ordinary exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)  # not frozen: Python must be able to set __traceback__ on a raised exception
class InputError(Exception):
    """A bad input, described well enough to fix it from one line.

    Attributes:
        file: the file (or "command line", "upload") where the bad value was found.
        key: the dotted key of the value, or "" when the whole file is at fault.
        value: the offending value, as the user wrote it.
        allowed: what would have been accepted.
    """

    file: str
    key: str
    value: object
    allowed: str

    def __post_init__(self) -> None:
        self.args = (self.file, self.key, self.value, self.allowed)  # so it pickles (Dask workers)

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where} = {self.value!r}: {self.allowed}"

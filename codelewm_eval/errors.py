"""Errors a user can fix. The CLI turns them into one clear message and exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: names the file, and where known the line and the field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field, self.message = path, line, field, message
        where = ""
        if path:
            where = str(path)
            if line is not None:
                where += f", line {line}"
            if field:
                where += f", field '{field}'"
            where += ": "
        elif field:
            where = f"field '{field}': "
        super().__init__(where + message)

    def __reduce__(self):  # crosses from a worker process with its file, line and field
        return _input_error, (self.message, self.path, self.line, self.field)


def _input_error(message: str, path: str | None, line: int | None, field: str | None) -> InputError:
    return InputError(message, path=path, line=line, field=field)


class Terminated(BaseException):
    """SIGTERM arrived (a job cancelled, a launcher stopping its seeds): unwinds like Ctrl-C, so
    temporary files are removed and a training run writes its `failed` event; exit 143."""

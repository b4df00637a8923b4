"""One error hierarchy, one table. Every error a verb reports derives from `CodelewmError`, which
carries its exit code and the word `main` prints before it:

| error | exit | meaning |
|---|---|---|
| `InputError` | 2 | bad input a user can fix: names the file, line and field; nothing is written |
| `EnvironmentProblem` (`SandboxError`) | 2 | this machine cannot do it (no usable sandbox) |
| `CheckFailed` (`RunBlocked`, `PackBlocked`) | 1 | a check, gate or stage that did not pass, with why |

`Terminated` (SIGTERM, 143) is a BaseException so that it unwinds like Ctrl-C. No `ValueError`
crosses a stage boundary: a stage raises one of these."""

from __future__ import annotations


class CodelewmError(Exception):
    """Base of every error a verb reports."""

    exit_code = 1
    label = "error"


class CheckFailed(CodelewmError):
    """A check, gate or stage that did not pass: exit 1, with why."""

    exit_code = 1
    label = "stopped"


class EnvironmentProblem(CodelewmError):
    """This machine cannot do what was asked (never the input's or the candidate's fault): exit 2."""

    exit_code = 2
    label = "error"


class InputError(CodelewmError):
    """Bad input: names the file, and where known the line and the field."""

    exit_code = 2

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

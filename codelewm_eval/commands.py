"""The command line that does what a stage config says (recorded in the stage's manifest)."""

from __future__ import annotations


def command_line(verb: list[str], *options: tuple[str, object], defaults: dict[str, object] | None = None) -> list[str]:
    """`codelewm-eval VERB...` followed by `OPTION VALUE` for every option that is set (not None
    and not its default); a list value repeats the option once per item."""
    argv = ["codelewm-eval", *verb]
    for option, value in options:
        if value is None or (defaults and option in defaults and defaults[option] == value):
            continue
        for item in value if isinstance(value, list) else [value]:
            argv += [option, str(item)]
    return argv

"""`codelewm-eval <verb>`: a thin layer over the library.

Exit codes: 0 success, 1 a check or gate that did not pass, 2 bad input.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys

from .. import __version__
from ..errors import CodelewmError, Terminated
from .claims import _add_claims
from .common import output_locks, refuse_outputs_among_inputs
from .evidence import _add_compare, _add_evidence
from .execution import _add_bench, _add_benchmarks, _add_decoys, _add_execute
from .jobs import _add_jobs, _add_secrets, _add_train
from .pack import _add_manifest, _add_pack, _add_preflight
from .run import _add_report, _add_run
from .surgery import _add_generate, _add_surgery


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codelewm-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"codelewm-eval {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True)
    _add_execute(sub)
    _add_manifest(sub)
    _add_pack(sub)
    _add_preflight(sub)
    _add_decoys(sub)
    _add_evidence(sub)
    _add_compare(sub)
    _add_train(sub)
    _add_jobs(sub)
    _add_secrets(sub)
    _add_claims(sub)
    _add_run(sub)
    _add_surgery(sub)
    _add_generate(sub)
    _add_report(sub)
    _add_benchmarks(sub)
    _add_bench(sub)
    return parser


# verbs that keep finished work when stopped and pick it up when run again
RESUMABLE = {"cmd_execute", "cmd_run", "cmd_generate", "cmd_train", "cmd_jobs_launch"}


def _after_stop(args) -> str:
    if getattr(getattr(args, "func", None), "__name__", "") in RESUMABLE:
        return "run the same command again to resume"
    return "nothing was half-written; run the command again to start over"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the one place the command line is recorded (manifests, run records): what this call was given
    args.command = ["codelewm-eval", *(sys.argv[1:] if argv is None else argv)]
    from ..log import configure

    configure()
    previous = _terminate_as_exception()
    try:
        refuse_outputs_among_inputs(args)
        with output_locks(args):
            return args.func(args)
    except Terminated:
        print(f"codelewm-eval: terminated (SIGTERM); {_after_stop(args)}", file=sys.stderr)
        return 143
    except CodelewmError as exc:  # the one table: errors.py (input 2, environment 2, a check that did not pass 1)
        print(f"codelewm-eval: {exc.label}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"codelewm-eval: interrupted; {_after_stop(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UnicodeDecodeError as exc:  # a reader that does not name its file: say what can be said
        print(f"codelewm-eval: error: an input is not text in a known encoding ({exc.reason} at byte {exc.start}); "
              "the readers of --samples, --results, --anchors and --allowlist name the file", file=sys.stderr)
        return 2
    except OSError as exc:  # a location that cannot be read or written: read-only, full, missing, a directory
        if exc.errno == errno.ENOSPC:  # not bad input: the disk holding the output is full
            out = exc.filename or getattr(args, "out", None) or "the output"
            print(f"codelewm-eval: error: no space left on the device holding {out}; nothing half-written was kept "
                  "(free space and run the command again)", file=sys.stderr)
            return 1
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"codelewm-eval: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_exception():
    """SIGTERM unwinds like Ctrl-C (temporary files removed, a `failed` event written); returns
    the handler it replaced, or None off the main thread (where handlers cannot be set)."""
    def raise_terminated(signum, frame):
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

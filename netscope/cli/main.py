"""`netscope` entry point: parse arguments, dispatch to a subcommand module, map errors.

Each subcommand lives in its own module under `netscope.cli` with `add_parser(subparsers)`
(which registers it and sets `func`) and is listed in netscope.cli.parser.SUBCOMMANDS. Modules
import heavy packages (Textual, bcc, scapy) inside their run functions only, so `netscope show`
starts fast.
"""

from __future__ import annotations

import sys

from netscope.cli import output
from netscope.cli.convention import refuse_unusable_globals
from netscope.cli.errors import UserError
from netscope.cli.parser import SUBCOMMANDS, build_parser

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["__complete"]:  # what the completion scripts ask; never an error
        from netscope.cli.completion import complete

        return complete(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        from netscope.cli import tui_cmd

        args.func = tui_cmd.run
    with output.guarded() as out:
        return _run(args, out)


def _run(args, out: output.SafeStream) -> int:
    """The command's exit status; user errors (a lost standard output included) as one line."""
    try:
        refuse_unusable_globals(args)
        status = int(args.func(args) or 0)
        output.finish(out)
        return status
    except output.OutputLost as e:
        if e.broken_pipe:  # the reader went away (`| head`): nobody is left to tell
            return 0
        print(f"netscope: {e}", file=sys.stderr)
        return e.exit_code
    except UserError as e:
        print(f"netscope: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("netscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``discoverly`` console script and ``python -m discoverly``.

The command line imports typer, polars and the like before it can catch Ctrl-C (about 0.1 s). This
module imports nothing heavy, so a Ctrl-C during that import ends the command the way a Ctrl-C during
a run does (``interrupted``, exit 130) instead of with a traceback through the import machinery.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def entry() -> None:  # console_scripts entry point
    try:
        from discoverly.cli.app import entry as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    run()

"""``python -m discoverly.cli``: the ``discoverly`` command."""

from discoverly.cli.app import entry

if __name__ == "__main__":  # importing this module (a documentation tool walking the package) runs nothing
    entry()

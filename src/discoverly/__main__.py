from discoverly.cli.app import entry

entry()

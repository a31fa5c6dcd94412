"""The `netscope` command: one entry point, one module per subcommand."""

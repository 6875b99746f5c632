"""Shared test set-up: the opsbot pytest plugin (fixtures ``bot``, ``bot_factory``) is loaded
through its ``pytest11`` entry point, so nothing needs importing here."""

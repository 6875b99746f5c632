"""The core plugin: help, ping, version, plugins, and admin-only join and part."""

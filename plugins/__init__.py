"""The bundled plugins, installed as the import package ``opsbot_plugins``."""

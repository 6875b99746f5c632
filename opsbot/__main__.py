"""``python -m opsbot`` is the ``opsbot`` command."""

from .cli import main

main()

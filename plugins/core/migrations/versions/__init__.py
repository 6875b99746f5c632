"""One module per revision of the core plugin's tables."""

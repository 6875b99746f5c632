"""One module per revision of the meetings plugin's tables."""

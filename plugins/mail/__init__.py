"""The mail plugin: meeting minutes to the mailing lists, address verification, mail follow-ups."""

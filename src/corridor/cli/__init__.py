"""The command-line adapter. Thin: parses flags, calls the domain, prints."""

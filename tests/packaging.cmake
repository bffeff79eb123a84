# Packaging and integration (filled in with the packaging work).

# The demo as a user runs it (filled in with the demo).

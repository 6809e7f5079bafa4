"""The console's pages, one module per group: auth, ask, overview, review, knowledge."""

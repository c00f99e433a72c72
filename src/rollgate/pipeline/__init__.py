"""One module per DVC stage — validate, prepare, train, evaluate — each thin: read, call the core, write."""

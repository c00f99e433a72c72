"""One module per DVC stage — validate, prepare, train, evaluate, gate — each thin: read, call the core, write."""

"""`make demo`: the pull-request job on the embedded defaults, in a scratch clone, explained."""

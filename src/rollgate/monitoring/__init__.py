"""`rollgate monitor drift` and `rollgate monitor performance`: the thin edge around `rollgate.monitor`.

- `options` holds what the command line asked for;
- `read` reads tables and the server's prediction log and joins labels; `load` turns them into the
  reference and the current rows, every column the run needs checked;
- `run` cuts windows, shares the false-alarm budget and judges each window with `rollgate.monitor`;
- `record` (the JSON), `markdown` and `charts` describe the outcome; `outputs` writes them all at once.
"""

"""Drift and performance monitoring over windows of live data: pure statistics, like the gate. No I/O.

- `reference` builds what live data is compared with from training weeks and a holdout (`baseline`
  holds its dataclasses and JSON form, `scores` the holdout's part, `spread` the week-to-week spread);
- `windows` cuts live rows into windows;
- `drift`, `domain` and `prediction` judge a window's inputs (per feature, jointly) and its scores;
- `estimate` judges performance without labels, `performance` with matured labels;
- `budget` shares one false-alarm rate across a run and says which cohorts are due;
- `report` records each window and the run's verdict; `assess` wires them for one window.

Underneath: `binning` (rows to bin codes), `distance` (PSI, χ², KS and their p-values), `metrics`
(average precision, a Poisson-binomial tail), `findings` (a test's outcome, Holm and effect floors),
`policy` (every default), `inputs` (the checks that name a bad window or column).
"""

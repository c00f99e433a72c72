"""The champion-vs-challenger gate: statistics and a pure decision over an explicit policy. No I/O."""

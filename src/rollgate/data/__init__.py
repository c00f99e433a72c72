"""The example data: its generator, its Pandera schema and the per-row contract derived from it."""

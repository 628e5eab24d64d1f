"""``ganbench sweep SWEEP.toml``: a whole grid of ``ganbench run`` requests, resumable.

- :mod:`~ganbench.sweep.spec_file`: reading and checking the sweep file
  (a grid of models x datasets x trick sets less excludes, or ``[[row]]``s).
- :mod:`~ganbench.sweep.cells`: the runs it asks for, one cell each, keyed by
  a short sha256 of the run's request.
- :mod:`~ganbench.sweep.worker`: one cell in a worker process: run, never
  store, send the records back.
- :mod:`~ganbench.sweep.executors`: where cells run: the interface, and the
  local process pool (Ray and Slurm to come).
- :mod:`~ganbench.sweep.driver`: skipping stored cells, storing or resuming
  a killed sweep's run folders, retries, and the one process writing the store.
- :mod:`~ganbench.sweep.report`: the progress bar and the summary table.
"""

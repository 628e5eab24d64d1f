"""``ganbench ablate``: a baseline against the baseline plus each trick, on the same seeds.

- :mod:`~ganbench.ablate.paired`: the paired statistics of one comparison
  (per-seed differences, a bootstrap confidence interval, an exact
  sign-flip permutation test, a verdict).
- :mod:`~ganbench.ablate.cells`: which runs an ablation needs, and which of
  them the results store already holds.
- :mod:`~ganbench.ablate.report`: the rich table and the Markdown and CSV
  files under ``leaderboards/ablations/<model>/<dataset>``.
"""

"""One training run, start to finish: the flow of ``ganbench run``.

- :mod:`~ganbench.run.request`: what the user asked for (flags, resumed config).
- :mod:`~ganbench.run.preparation`: every check and every build before step 0
  (plugins, parameters, data, metrics that apply, the trial step); bad input
  fails here, before anything is written.
- :mod:`~ganbench.run.runner`: the run folder, training (:mod:`ganbench.train`),
  evaluation (:mod:`ganbench.eval`) and the stored record.
- :mod:`~ganbench.run.resume`: picking up a stopped run from its checkpoint.
- :mod:`~ganbench.run.record`: :class:`~ganbench.run.record.RunRecord`, what a
  run leaves behind: metrics with their protocol record and comparison key.
"""

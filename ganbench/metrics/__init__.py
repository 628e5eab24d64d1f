"""Metric maths and the built-in metric registrations.

Each module holds one metric as small pure functions on torch tensors or
numpy arrays, computed in float64 (:mod:`frechet`, :mod:`kid`,
:mod:`inception_score`, :mod:`class_coverage`, :mod:`conditional_accuracy`,
:mod:`mode_coverage`). :mod:`builtin` wraps them as
:class:`ganbench.specs.MetricSpec` records that read :class:`ganbench.eval.inputs.EvalInputs`.
"""

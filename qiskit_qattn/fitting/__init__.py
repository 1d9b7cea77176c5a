"""Fitting the reusable family schedules (torch, exact and batched): above ``circuits`` and ``sim``.

:mod:`.torch_states` mirrors each circuit family as a differentiable torch statevector;
:mod:`.fit` fits the maps from row statistics to angles on real MiniLM attention rows
(``benchmarks/fit_family_schedules.py`` writes ``qiskit_qattn/data/family_schedules.json``).
Importing this package imports torch; the circuit builders never do.
"""

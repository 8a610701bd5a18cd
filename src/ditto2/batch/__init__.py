"""``ditto2 batch``: many generations from a jobs file, on Ray (a local Ray by default, a cluster with --address).

``jobs`` reads and checks the jobs file (each line a ``ditto2 generate`` request); ``runner`` runs the valid ones
on Ray actors that load the models once, skipping finished jobs and recording failures (docs/scaling.md).
"""

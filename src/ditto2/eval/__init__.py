"""Evaluation instruments (see docs/evaluation.md); each module is imported on demand.

* ``fad``: Fréchet audio distance, the ``Embedder`` interface, FAD∞;
  ``embedders.LogMelProjection`` (CI) and ``musicnn.MusicnnEmbedder`` (real figures, own TF venv).
* ``melody``: melody accuracy of final audio with basic-pitch.
* ``controls``: intensity, structure, paint/loop context error and seams, on final audio.
* ``musicality``: is it still music — onset peakiness, notes per clip, spectral peak persistence, and the
  "quality kept" ratios of a controlled set to the uncontrolled one.
* ``quality`` / ``teacher_report``: the teacher's first quality figure (FD-54).
"""

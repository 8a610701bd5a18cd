"""The two benches: ``ditto2 bench`` (``paper``: the paper's table per task and condition) and ``ditto2 bench-text``
(``text``: text adherence four ways). Both generate every clip through ``Pipeline.generate``, one at a time.

=================  ============================================================================================
module             owns
=================  ============================================================================================
``conditions``     the condition grammar of both benches (``none-teacher``, ``ditto2-ctd-k2``, ``cfg-3`` ...)
``targets``        the tasks' targets (loudness curves, melodies, references), test clips, the FAD reference
``prompts``        the text bench's prompts, their vocabulary group and stated attributes
``runner``         each clip generated, timed and written with its sidecar; the two resume rules
``timing``         a condition's timing figures (medians over its clips)
``kept``           the paper bench's uncontrolled baselines and "quality kept" ratios
``markdown``       both results.md tables
``plot``           the paper bench's speed/quality figure
``paper``          ``run_bench``
``text_scores``    the text bench's CLAP scores and attribute accuracy
``text``           ``run_text_bench``
=================  ============================================================================================
"""
from ditto2.bench.conditions import PAPER, TEXT, Condition, Grammar, parse_conditions
from ditto2.bench.kept import add_kept, baseline_row
from ditto2.bench.paper import condition_settings, run_bench
from ditto2.bench.prompts import ATTRIBUTES, DEFAULT_PROMPTS, GROUPS, Prompt, make_prompts, prompt_group, stated_attributes
from ditto2.bench.runner import MAX_SEEDS, claim_folder
from ditto2.bench.targets import (
                                  FRESH_DB,
                                  FRESH_SKIP,
                                  INTENSITY_CURVES,
                                  METRICS_OF_TASK,
                                  TARGET_SETS,
                                  TASKS,
                                  as_float,
                                  fresh_curves,
                                  melody_control,
                                  task_controls,
                                  test_clips,
                                  write_reference,
)
from ditto2.bench.text import DEFAULT_CONDITIONS, run_text_bench
from ditto2.bench.timing import timing_summary

__all__ = ["ATTRIBUTES", "DEFAULT_CONDITIONS", "DEFAULT_PROMPTS", "FRESH_DB", "FRESH_SKIP", "GROUPS",
           "INTENSITY_CURVES", "MAX_SEEDS", "METRICS_OF_TASK", "PAPER", "TARGET_SETS", "TASKS", "TEXT", "Condition",
           "Grammar", "Prompt", "add_kept", "as_float", "baseline_row", "claim_folder", "condition_settings",
           "fresh_curves", "make_prompts", "melody_control", "parse_conditions", "prompt_group", "run_bench",
           "run_text_bench", "stated_attributes", "task_controls", "test_clips", "timing_summary", "write_reference"]

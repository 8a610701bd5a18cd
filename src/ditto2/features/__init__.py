"""Control features on the normalised mel (differentiable, (80, T) or (B, 80, T)), their audio
twins for evaluation (numpy, from a 22.05 kHz waveform), target builders and time masks.
See docs/features.md for the design choices and the measured mel/audio agreement.
"""
from ditto2.features.chroma import chroma, chroma_audio, melody_accuracy, melody_log_probs, melody_nll
from ditto2.features.intensity import intensity_db, intensity_db_audio, pearson
from ditto2.features.masks import (free_weights, inpainting_mask, looping_masks, outpainting_masks,
                                   self_looping_masks)
from ditto2.features.melody_targets import Melody, melody_from_audio, melody_from_midi, melody_from_notes
from ditto2.features.structure import mfcc, mfcc_audio, ssm, ssm_audio
from ditto2.features.targets import (intensity_curve, structure_from_audio, structure_from_string,
                                      structure_repeats_from_string)

__all__ = [
    "chroma", "chroma_audio", "melody_accuracy", "melody_log_probs", "melody_nll",
    "intensity_db", "intensity_db_audio", "pearson",
    "free_weights", "inpainting_mask", "looping_masks", "outpainting_masks", "self_looping_masks",
    "Melody", "melody_from_audio", "melody_from_midi", "melody_from_notes",
    "mfcc", "mfcc_audio", "ssm", "ssm_audio",
    "intensity_curve", "structure_from_audio", "structure_from_string", "structure_repeats_from_string",
]

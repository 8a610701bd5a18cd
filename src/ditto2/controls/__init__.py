"""Controls: what a generated clip should do, each a differentiable loss on its mel (see ``base.Control``)."""
from ditto2.controls.base import Control, ControlSettings, total_loss
from ditto2.controls.music import (STRUCTURE_MARGIN, STRUCTURE_MARGIN_UNANCHORED, IntensityControl, MelodyControl,
                                   StructureControl)
from ditto2.controls.paint import InpaintControl, OutpaintControl, SelfLoopControl
from ditto2.controls.text import TextControl

# Every control class: the evaluation accepts the sidecar keys these write (``Control.sidecar_keys``).
CONTROLS = (IntensityControl, MelodyControl, StructureControl, InpaintControl, OutpaintControl, SelfLoopControl,
            TextControl)

__all__ = ["CONTROLS", "STRUCTURE_MARGIN", "STRUCTURE_MARGIN_UNANCHORED", "Control", "ControlSettings", "total_loss",
           "IntensityControl", "MelodyControl", "StructureControl", "InpaintControl", "OutpaintControl", "SelfLoopControl",
           "TextControl"]

"""Controls: what a generated clip should do, each a differentiable loss on its mel (see ``base.Control``)."""
from ditto2.controls.base import Control, total_loss
from ditto2.controls.music import IntensityControl, MelodyControl, StructureControl
from ditto2.controls.paint import InpaintControl, OutpaintControl, SelfLoopControl
from ditto2.controls.text import TextControl

__all__ = ["Control", "total_loss", "IntensityControl", "MelodyControl", "StructureControl", "InpaintControl",
           "OutpaintControl", "SelfLoopControl", "TextControl"]

"""Audio: file I/O, the log-mel front-end and the vocoders (mel -> waveform).

The vocoder names live here, import-free, so a command line can offer them without importing torch.
"""

VOCODERS = ("neural", "griffinlim")
DEFAULT_VOCODER = "griffinlim"  # the neural one becomes the default where it measures better (docs/vocoder.md)

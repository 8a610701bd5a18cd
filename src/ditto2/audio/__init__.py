"""Audio: file I/O, the log-mel front-end and the vocoders (mel -> waveform).

The vocoder names live here, import-free, so a command line can offer them without importing torch.
"""

VOCODERS = ("neural", "griffinlim")
# Each use's default is the vocoder that measures better there (docs/vocoder.md): Griffin-Lim renders the controls'
# optimised mels more faithfully (intensity 0.31 against 0.52 dB^2 through the neural one); the neural vocoder is
# nearer to real audio for uncontrolled samples and resynthesis (musicnn FAD 9.8 against 14.3, LSD 0.79x).
DEFAULT_VOCODER = "griffinlim"      # controlled generation (`generate`, the studio, the batch engine)
UNCONTROLLED_VOCODER = "neural"     # `sample` and `vocode`, where the models folder has the neural weights

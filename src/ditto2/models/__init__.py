"""One home for every shipped model: the file index, the teacher bundle and the loaders of a models folder.

Each model class loads and saves its own release (``from_pretrained`` / ``save_pretrained``, ``ditto2.release``);
this package knows which files a models folder holds and how they belong together (docs/architecture.md).
"""
from ditto2.models.files import (
                                 AUTOENCODER_FILE,
                                 CLAP_KINDS,
                                 STUDENT_METHODS,
                                 TEACHER_FILE,
                                 VOCODER_FILE,
                                 WEIGHTS_DIR,
                                 clap_file,
                                 shipped_files,
                                 student_file,
                                 weights_path,
)
from ditto2.models.shipped import DEFAULT_VOCODER, VOCODERS, load_clap, load_student, load_student_for, load_vocoder
from ditto2.models.teacher import SAMPLERS, Teacher

__all__ = ["AUTOENCODER_FILE", "CLAP_KINDS", "DEFAULT_VOCODER", "SAMPLERS", "STUDENT_METHODS", "TEACHER_FILE",
           "VOCODERS", "VOCODER_FILE", "WEIGHTS_DIR", "Teacher", "clap_file", "load_clap", "load_student",
           "load_student_for", "load_vocoder", "shipped_files", "student_file", "weights_path"]

"""Loading the students and CLAP models of a models folder (the shipped one by default), checked against the
teacher they belong to."""
from __future__ import annotations

from pathlib import Path

from ditto2.audio import DEFAULT_VOCODER, UNCONTROLLED_VOCODER, VOCODERS
from ditto2.audio.vocoder import GriffinLim, Vocoder
from ditto2.clap.model import ClapModel
from ditto2.distill.student import Student
from ditto2.errors import InputError, MissingResourceError
from ditto2.models.files import TEACHER_FILE, VOCODER_FILE, WEIGHTS_DIR, clap_file, student_file, weights_path
from ditto2.release import file_digest


def load_student(path: str | Path, teacher: str | Path | None = None) -> Student:
    """A released student; with ``teacher`` (the teacher release it will be used with), a clear error if it was
    distilled from another one."""
    student = Student.from_pretrained(path)
    if teacher is not None:
        if not Path(teacher).is_file():
            raise MissingResourceError(f"teacher weights not found: {teacher}")
        student.check_teacher(file_digest(teacher), name=str(teacher))
    return student


def load_student_for(directory: str | Path | None, method: str) -> Student:
    """The ``method`` student of a models folder (default: the shipped one), checked against its teacher."""
    return load_student(weights_path(student_file(method), directory), teacher=weights_path(TEACHER_FILE, directory))


def load_clap(kind: str = "control", directory: str | Path | None = None) -> ClapModel:
    """The ``control`` or ``eval`` CLAP model of a models folder (MissingResourceError if absent)."""
    try:
        path = weights_path(clap_file(kind), directory)
    except MissingResourceError as exc:
        raise MissingResourceError(f"{exc}; the CLAP {kind} model comes from `ditto2 train clap` "
                                   "(docs/text-control.md)") from None
    return ClapModel.from_pretrained(path)


def load_vocoder(name: str | None = None, directory: str | Path | None = None, uncontrolled: bool = False) -> Vocoder:
    """The ``neural`` vocoder of a models folder (default: the shipped one) or ``griffinlim``. None: the default for
    the use, the neural one for ``uncontrolled`` audio where the folder has its weights, else Griffin-Lim."""
    if name is None:
        has_neural = (Path(directory or WEIGHTS_DIR) / VOCODER_FILE).is_file()
        name = UNCONTROLLED_VOCODER if uncontrolled and has_neural else DEFAULT_VOCODER
    if name not in VOCODERS:
        raise InputError(f"unknown vocoder {name!r}; expected one of {', '.join(VOCODERS)}")
    if name == "griffinlim":
        return GriffinLim()
    from ditto2.audio.neural_vocoder import NeuralVocoder

    try:
        path = weights_path(VOCODER_FILE, directory)
    except MissingResourceError as exc:
        raise MissingResourceError(f"{exc}; the neural vocoder comes from `ditto2 train vocoder` "
                                   "(docs/vocoder.md), or use --vocoder griffinlim") from None
    return NeuralVocoder.from_pretrained(path)

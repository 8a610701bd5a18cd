"""Property-based tests of the parsers of user input (issue 21): whatever a user types or uploads ends in a result
or in an InputError (a Ditto2Error) that names the input, never in another exception."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ditto2 import features as F
from ditto2.cli.generate import generate_parser, parse_gap, parse_weights
from ditto2.errors import Ditto2Error
from ditto2.studio.service import FIELD_GRAMMAR, StudioRequest, Uploads, check_field, to_argv

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10 ** 6, 10 ** 6))
# Text that looks like the inputs: digits, note names, separators, letters, and anything else.
shaped = st.text(alphabet="0123456789-.,:; #bABCDEFGRrxyz/\\\n\t", max_size=40)
anything = st.one_of(st.text(max_size=60), shaped)


def ends_well(fn, *args, name: str | None = None):
    """Run ``fn``; a Ditto2Error must mention ``name`` when given; any other exception fails the test."""
    try:
        return fn(*args)
    except Ditto2Error as exc:
        if name is not None:
            assert name in str(exc), f"the message does not name {name!r}: {exc}"
        return None


@FUZZ
@given(st.lists(numbers, max_size=12))
def test_intensity_curves_from_any_numbers(values):
    curve = ends_well(F.intensity_curve, values)
    if curve is not None:
        assert curve.shape == (512,) and all(map(lambda v: v == v, curve))  # finite in, finite out


@FUZZ
@given(anything)
def test_intensity_flag_from_any_text(text):
    args = ends_well(generate_parser().parse_args, ["-o", "x.wav", "--intensity", text])
    if args is not None:
        from ditto2.cli.generate import build_controls

        ends_well(build_controls, args, name="--intensity")


@FUZZ
@given(anything)
def test_note_strings(text):
    melody = ends_well(F.melody_from_notes, text)
    if melody is not None:
        assert len(melody.pitch) == 512


@FUZZ
@given(anything)
def test_structure_strings(text):
    ssm = ends_well(F.structure_from_string, text)
    if ssm is not None:
        assert ssm.shape[0] == ssm.shape[1]
    repeats = ends_well(F.structure_repeats_from_string, text)
    assert (repeats is None) == (ssm is None)  # the same diagrams are refused
    if repeats is not None:
        target, mask = repeats
        assert target.shape == mask.shape == ssm.shape and mask.sum() > 0


@FUZZ
@given(anything)
def test_gaps_and_weights(text):
    ends_well(parse_gap, text, name="--gap")
    ends_well(parse_weights, text, name="--weights")


@FUZZ
@given(st.sampled_from(sorted(FIELD_GRAMMAR)), anything)
def test_studio_fields_hold_values_never_paths(field, text):
    value = ends_well(check_field, field, text, name=field)
    if value is not None:
        assert "/" not in value and "\\" not in value


@FUZZ
@given(st.fixed_dictionaries({}, optional={
    "intensity": anything, "melody": anything, "structure": anything, "weights": anything, "text": anything,
    "candidates": st.integers(-3, 9), "seed": st.integers(0, 10 ** 6), "seconds": st.one_of(st.none(), numbers),
    "opt_steps": st.one_of(st.none(), st.integers(-5, 500)), "decode_steps": st.one_of(st.none(), st.integers(-2, 12)),
}))
def test_studio_requests(tmp_path_factory, fields):
    folder = tmp_path_factory.mktemp("fuzz")
    argv = ends_well(to_argv, StudioRequest(**fields), folder / "o.wav", Uploads(folder / "up"))
    if argv is not None:
        ends_well(generate_parser().parse_args, argv)


@FUZZ
@given(st.one_of(anything, st.dictionaries(st.text(max_size=12), st.one_of(anything, numbers, st.booleans()),
                                           max_size=4).map(json.dumps)))
def test_batch_job_lines(tmp_path_factory, line):
    from ditto2.batch.jobs import parse_line

    ends_well(parse_line, line, 1, tmp_path_factory.mktemp("jobs"), None)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from([".wav", ".mid", ".flac", ".json"]))
def test_uploaded_files_of_any_bytes(tmp_path_factory, data, suffix):
    from ditto2.audio.io import read_audio

    path = tmp_path_factory.mktemp("files") / f"upload{suffix}"
    path.write_bytes(data)
    if suffix == ".mid":
        ends_well(F.melody_from_midi, path, name=str(path))
    elif suffix == ".json":
        ends_well(F.intensity_curve, str(path))
    else:
        ends_well(read_audio, path, name=str(path))


@FUZZ
@given(st.one_of(st.text(max_size=80), st.dictionaries(st.text(max_size=10), st.one_of(numbers, st.text(max_size=10)),
                                                      max_size=4).map(json.dumps)))
def test_sidecars(tmp_path_factory, text):
    from ditto2.eval.run import read_sidecar

    path = tmp_path_factory.mktemp("sidecars") / "x.json"
    path.write_text(text)
    ends_well(read_sidecar, path, name="x.json")


@pytest.mark.parametrize("values", [[float("nan")], [float("inf"), -20], [1e308, -1e308]])
def test_non_finite_curves_are_refused(values):
    with pytest.raises(Ditto2Error):
        F.intensity_curve(values)


@FUZZ
@given(st.one_of(numbers.map(str), anything))
def test_overlaps(text):
    from ditto2.cli.generate import build_controls

    args = ends_well(generate_parser().parse_args, ["-o", "x.wav", "--loop", "--overlap", text])
    if args is not None:
        ends_well(build_controls, args, name="--overlap")

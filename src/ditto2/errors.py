"""User-facing errors: the CLI prints these as one clear line instead of a stack trace."""


class Ditto2Error(Exception):
    """Bad input or missing resource, with a message that names it and says what is expected."""


class InputError(Ditto2Error, ValueError):
    """An argument, file or value the user gave is not usable."""


class MissingResourceError(Ditto2Error, FileNotFoundError):
    """A program, SoundFont, checkpoint or dataset that is needed is not there."""

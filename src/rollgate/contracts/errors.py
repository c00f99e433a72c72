"""The error types every part raises for bad input. The command line turns them into one clear line."""


class RollgateError(Exception):
    """Bad input or a refused operation; the message names the file and the field or rows."""


class ParamsError(RollgateError):
    """`params.yaml` is malformed, has an unknown key, a wrong type or an out-of-range value."""


class DataValidationError(RollgateError):
    """The data broke its contract; the message summarises every failure."""


class ContractError(RollgateError):
    """A shared file (model metadata, feature contract, ...) does not match its schema."""


class ArtifactError(RollgateError):
    """A model artifact is unreadable, untrusted, or its digest does not match."""

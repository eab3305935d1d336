"""One error hierarchy for everything snnc rejects.

Every failure a user can cause (bad file, unsupported op, wrong data, impossible
hardware mapping, ...) raises a subclass of :class:`SnncError` whose message
names the offending node / file and says what to do. The CLI prints the message
without a traceback and exits with the class's ``exit_code``:

==========  =====================================================
exit code   meaning
==========  =====================================================
1           unexpected internal error (a bug: please report it)
2           command-line usage error; an optional package is missing
3           input file missing, unreadable or corrupt; output file not writable
4           unsupported model (op, activation, dynamic shape)
5           invalid graph (shape / type mismatch)
6           calibration or input data rejected
7           simulation / backend failure
8           hardware profile invalid or network does not fit
==========  =====================================================
"""
from __future__ import annotations


class SnncError(Exception):
    """Base of every error snnc raises on purpose."""

    exit_code = 1


class UsageError(SnncError):
    """Bad command-line arguments or API parameters."""

    exit_code = 2


class ModelLoadError(SnncError):
    """A model or artifact file is missing, unreadable, corrupt or of another format version."""

    exit_code = 3


class OutputError(SnncError):
    """An output file (artifact, plot, JSON record) cannot be written."""

    exit_code = 3


class UnsupportedModelError(SnncError):
    """The model uses ops or activations snnc cannot convert."""

    exit_code = 4


class GraphError(SnncError):
    """The IR graph is malformed: unknown input, shape or type mismatch."""

    exit_code = 5


class DataError(SnncError):
    """Calibration or evaluation data is missing, malformed or does not fit the model."""

    exit_code = 6


class CalibrationError(DataError):
    """Threshold calibration cannot proceed (e.g. no ReLU to calibrate)."""


class SimulationError(SnncError):
    """A simulator or backend failed (memory, hang, crash, unsupported lowering)."""

    exit_code = 7


class BackendError(SimulationError):
    """A backend cannot express part of the network."""


class HardwareError(SnncError):
    """A hardware profile is invalid or the network cannot be mapped onto it."""

    exit_code = 8


EXIT_CODES = {
    cls.__name__: cls.exit_code
    for cls in (SnncError, UsageError, ModelLoadError, OutputError, UnsupportedModelError, GraphError,
                DataError, SimulationError, HardwareError)
}

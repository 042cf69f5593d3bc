"""Writing outputs so that nothing is ever half-written, never over an input, one run at a time.

Shared infrastructure of every command (private to skintrial as a whole):

* files — :func:`write_files` (and :func:`write_csv`, :func:`write_text`, :func:`write_bytes`):
  atomic (temporary beside the target, ``fsync``, ``os.replace``), all-or-nothing for several files,
  never over an input (:func:`refuse_inputs`), a full disk said as bad input (exit 2), CSV text cells
  that a spreadsheet would run as formulas quoted (:func:`neutralise_formulas`);
* folders — :func:`atomic_output_dir`: staged in ``OUT/.skintrial/``, published by a journalled swap
  that leaves the previous or the new run complete whenever the process is killed, under an OS lock
  (:func:`output_lock`) that refuses a second run into the same folder;
* ownership — what a run may replace in an output folder (:func:`check_replaceable`,
  :func:`is_run_output`, :func:`demo_problems`, :func:`mark_written`).
"""

from skintrial._io._files import (
    csv_bytes,
    input_hits,
    input_problems,
    neutralise_formulas,
    no_space,
    refuse_inputs,
    remove_stale_temps,
    same_file,
    sha256_file,
    write_bytes,
    write_csv,
    write_files,
    write_text,
)
from skintrial._io._guard import NO_PROVENANCE, check_output_dir, check_replaceable, replace_problems
from skintrial._io._journal import WORK, recover
from skintrial._io._lock import OutputLock, output_lock
from skintrial._io._ownership import (
    DEMO_STUDY,
    MARK_FILE,
    OUTPUTS,
    changes_since_marked,
    demo_problems,
    is_run_output,
    mark_written,
    recorded_inputs,
    write_demo_study,
)
from skintrial._io._publish import atomic_output_dir

__all__ = [
    "write_files",
    "write_csv",
    "write_text",
    "write_bytes",
    "csv_bytes",
    "neutralise_formulas",
    "input_hits",
    "input_problems",
    "refuse_inputs",
    "same_file",
    "remove_stale_temps",
    "no_space",
    "sha256_file",
    "NO_PROVENANCE",
    "check_output_dir",
    "check_replaceable",
    "replace_problems",
    "WORK",
    "recover",
    "OutputLock",
    "output_lock",
    "atomic_output_dir",
    "MARK_FILE",
    "mark_written",
    "changes_since_marked",
    "OUTPUTS",
    "is_run_output",
    "recorded_inputs",
    "DEMO_STUDY",
    "demo_problems",
    "write_demo_study",
]

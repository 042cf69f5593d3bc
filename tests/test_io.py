"""skintrial._io: atomic files, output folders that a kill cannot mix, the lock, a full disk, CSV formulas.

A publication into an output folder must leave the previous complete run or the new complete run,
whatever instant the process dies at. The kill tests run the publication in a child process that
dies (``os._exit``, no clean-up of any kind, as under SIGKILL) just before or just after each rename
it makes, and in a child that is sent SIGKILL after random delays; the parent then starts the next
command's recovery (taking the folder's lock) and checks the folder.
"""

from __future__ import annotations

import errno
import inspect
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skintrial._io import (
    WORK,
    atomic_output_dir,
    output_lock,
    write_csv,
    write_files,
)
from skintrial.errors import InputError

MANAGED = ("results", "overlays", "report.html", "provenance.json")


def _publish(out: Path, generation: str, *, overlays: bool = True, n_results: int = 3) -> None:
    """A run's outputs, every file holding ``generation``; overlays/ only when asked."""
    with atomic_output_dir(out, managed=MANAGED) as stage:
        (stage / "results").mkdir()
        for k in range(n_results):
            (stage / "results" / f"t{k}.csv").write_text(generation)
        (stage / "report.html").write_text(generation)
        (stage / "provenance.json").write_text(generation)
        if overlays:
            (stage / "overlays").mkdir()
            (stage / "overlays" / "scan.png").write_text(generation)


PUBLISH = (
    "from pathlib import Path\nfrom skintrial._io import atomic_output_dir\n"
    f"MANAGED = {MANAGED!r}\n{inspect.getsource(_publish)}"
)
""":func:`_publish` for the child processes, which import nothing of the tests (nor pandas)."""


def _state(out: Path) -> dict[str, str]:
    """Every file under ``out`` (skintrial's own folder left out) by relative path -> its text."""
    return {
        p.relative_to(out).as_posix(): p.read_text()
        for p in sorted(out.rglob("*"))
        if p.is_file() and WORK not in p.relative_to(out).parts
    }


def _run_state(generation: str, *, overlays: bool, n_results: int = 3) -> dict[str, str]:
    files = {f"results/t{k}.csv": generation for k in range(n_results)}
    files.update({"report.html": generation, "provenance.json": generation, "notes.txt": "mine"})
    if overlays:
        files["overlays/scan.png"] = generation
    return dict(sorted(files.items()))


def _recover(out: Path) -> None:
    """What the next command does first: take the lock (which recovers), write nothing."""
    with output_lock(out):
        pass


def _leftovers(out: Path) -> list[str]:
    """Anything of skintrial's machinery still in or next to ``out`` after a clean command."""
    found = [p.name for p in out.iterdir() if p.name == WORK or ".skintrial-" in p.name]
    found += [p.name for p in out.parent.iterdir() if ".partial-" in p.name]
    return found


CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from skintrial._io import _journal, _publish as publishing
    out, generation, kill_at, when = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    count = [0]

    def dying(step):
        def run(*args):
            count[0] += 1
            if count[0] == kill_at and when == "before":
                os._exit(137)  # dies as under SIGKILL: no finally, no rollback
            step(*args)
            if count[0] == kill_at and when == "after":
                os._exit(137)
        return run

    os.replace = dying(os.replace)  # every rename: the journal's writes and each move
    _journal.remove_entry = dying(_journal.remove_entry)  # every deletion after the commit
    publishing.remove_entry = dying(publishing.remove_entry)
    exec(sys.argv[5])
    _publish(out, generation, overlays=False)
    print(count[0])
    """
)
"""Publishes run B, dying just before or just after its ``kill_at``-th rename or deletion."""


def _child(out: Path, kill_at: int, when: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(out), "B", str(kill_at), when, PUBLISH],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_run_killed_at_any_step_leaves_the_previous_or_the_new_run(tmp_path):
    """Run A (with overlays/), then run B (without) killed just before / just after each of its renames
    and deletions (the journal's writes included): after recovery the folder is A or B, whole, the
    user's file kept, nothing of the killed run left."""
    probe = tmp_path / "probe"
    _publish(probe, "A")
    done = _child(probe, 10**6, "before")
    assert done.returncode == 0, done.stderr
    n_steps = int(done.stdout)
    assert n_steps >= 14  # journal, 4 moves aside, 3 moves in, commit, 4 old entries and 2 folders deleted
    a, b = _run_state("A", overlays=True), _run_state("B", overlays=False)
    seen = set()
    for k in range(1, n_steps + 1):
        for when in ("before", "after"):
            out = tmp_path / f"out_{k}_{when}"
            _publish(out, "A")
            (out / "notes.txt").write_text("mine")
            killed = _child(out, k, when)
            assert killed.returncode == 137, (k, when, killed.stderr)
            _recover(out)
            state = _state(out)
            assert state in (a, b), (k, when, state)
            seen.add("A" if state == a else "B")
            assert not _leftovers(out), (k, when)
    assert seen == {"A", "B"}  # kills before the commit roll back, kills after it finish


SIGKILL_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    exec(sys.argv[2])
    out = Path(sys.argv[1])
    print("ready", flush=True)
    for g in range(1, 10**6):
        _publish(out, f"G{g}", overlays=g % 2 == 0, n_results=40)
    """
)


def test_sigkill_after_random_delays_never_leaves_a_mixed_folder(tmp_path):
    """A child publishing run after run (each 40 result files) is SIGKILLed at random instants: the
    folder is always one whole run after recovery, and the staging of the killed run is gone."""
    rng = random.Random(20240601)
    out = tmp_path / "out"
    _publish(out, "G0", n_results=40)
    (out / "notes.txt").write_text("mine")
    for _ in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c", SIGKILL_CHILD, str(out), PUBLISH],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.close()
        _recover(out)
        state = _state(out)
        generations = {v for k, v in state.items() if k != "notes.txt"}
        assert len(generations) == 1, generations
        g = int(next(iter(generations))[1:])
        assert state == _run_state(f"G{g}", overlays=g % 2 == 0, n_results=40)
        assert not _leftovers(out)


def test_an_interrupted_swap_is_rolled_back_in_process(tmp_path, monkeypatch):
    """A rename that fails half-way through the swap (an I/O error) puts every earlier entry back."""
    out = tmp_path / "out"
    _publish(out, "A")
    before = _state(out)
    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # after the journal and two moves
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError, match="Input/output"):
        _publish(out, "B")
    monkeypatch.undo()
    assert _state(out) == before and not _leftovers(out)


def test_a_cross_device_rename_falls_back_to_copies_beside_the_targets(tmp_path, monkeypatch):
    """EXDEV between OUT/.skintrial and OUT: the moves done are undone, the new entries are copied next
    to their targets and swapped in from there; the previous run is only deleted once the new one is in."""
    out = tmp_path / "out"
    _publish(out, "A")
    (out / "notes.txt").write_text("mine")
    real = os.replace
    work = str(out / WORK)
    crossings = []

    def other_device(src, dst):
        if str(src).startswith(work) != str(dst).startswith(work):
            crossings.append((src, dst))
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dst)

    from skintrial._io import _journal

    real_remove, removed = _journal.remove_entry, []

    def remove(path):
        if ".skintrial-old-" in path.name:  # a previous output: only once the new run is committed
            assert '"committed": true' in (out / WORK / "journal.json").read_text()
            assert (out / path.name.split(".skintrial-old-")[0][1:]).exists() or path.name.startswith(
                ".overlays"
            )
            removed.append(path.name)
        real_remove(path)

    monkeypatch.setattr(os, "replace", other_device)
    monkeypatch.setattr(_journal, "remove_entry", remove)
    _publish(out, "B", overlays=False)
    monkeypatch.undo()
    assert crossings, "the fallback was exercised"
    assert len(removed) == 4  # results, overlays, report.html, provenance.json of run A
    assert _state(out) == _run_state("B", overlays=False)
    assert not _leftovers(out)


def test_the_exdev_fallback_keeps_the_previous_run_when_the_copy_fails(tmp_path, monkeypatch):
    import shutil

    out = tmp_path / "out"
    _publish(out, "A")
    (out / "notes.txt").write_text("mine")
    before = _state(out)
    real, work = os.replace, str(out / WORK)

    def other_device(src, dst):
        if str(src).startswith(work) != str(dst).startswith(work):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dst)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", other_device)
    monkeypatch.setattr(shutil, "copytree", full)
    with pytest.raises(InputError, match="no space left on device"):
        _publish(out, "B")
    monkeypatch.undo()
    assert _state(out) == before and not _leftovers(out)


def test_stale_staging_of_killed_runs_is_removed_at_the_next_run(tmp_path):
    out = tmp_path / "out"
    _publish(out, "A")
    (out / WORK / "stage-abc123").mkdir(parents=True)
    (out / WORK / "stage-abc123" / "report.html").write_text("half")
    (out / WORK / "old-abc123").mkdir()
    (out / WORK / ".journal.json.skintrial-0000-1-x.part").write_text("{")
    (out / ".results.skintrial-new-abc123").mkdir()
    legacy = tmp_path / ".out.partial-k2j3h4"  # what earlier versions staged next to OUT
    (legacy / "results").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    _publish(out, "B")
    assert _state(out) == _run_state("B", overlays=True)
    assert not _leftovers(out) and not legacy.exists()


def test_a_second_run_into_the_same_folder_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom skintrial._io import output_lock\n"
            "with output_lock(sys.argv[1], command='skintrial run study'):\n"
            "    print('locked', flush=True)\n    sys.stdin.read()\n",
            str(out),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError) as err:
            _publish(out, "B")
        text = str(err.value)
        assert f"pid {holder.pid} on {socket.gethostname()}" in text and "skintrial run study" in text
        assert "started 20" in text and "choose another --out" in text
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
        holder.stdout.close()
    _publish(out, "B")  # the lock is free once the first run has ended
    assert _state(out) == {k: v for k, v in _run_state("B", overlays=True).items() if k != "notes.txt"}


def test_a_killed_run_never_leaves_a_lock_that_blocks(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom skintrial._io import output_lock\n"
            "with output_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(600)\n",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    holder.stdout.close()
    assert (out / WORK / "lock").exists()  # the file stays; the OS lock went with the process
    _publish(out, "A")
    assert not _leftovers(out)


def test_two_locks_in_one_process_conflict_too(tmp_path):
    with output_lock(tmp_path / "out"), pytest.raises(InputError, match="another skintrial run"):
        with output_lock(tmp_path / "out"):
            pass


def test_no_space_while_writing_a_run_keeps_the_previous_run(tmp_path, monkeypatch):
    from skintrial._io import _files

    out = tmp_path / "out"
    _publish(out, "A")
    before = _state(out)
    real = _files._write_temp

    def full(path, data):
        if path.name == "t1.csv":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(_files, "_write_temp", full)
    with pytest.raises(InputError) as err, atomic_output_dir(out, managed=MANAGED) as stage:
        write_csv(pd.DataFrame({"a": [1]}), stage / "results" / "t0.csv")
        write_csv(pd.DataFrame({"a": [1]}), stage / "results" / "t1.csv")
    text = str(err.value)
    assert f"no space left on device writing {out / 'results' / 't1.csv'};" in text
    assert "free space or choose another --out" in text and WORK not in text
    assert _state(out) == before and not _leftovers(out)


def test_no_space_from_any_writer_in_the_stage_names_the_output_path(tmp_path):
    out = tmp_path / "out"
    _publish(out, "A")
    before = _state(out)
    with pytest.raises(InputError) as err, atomic_output_dir(out, managed=MANAGED) as stage:
        raise OSError(errno.ENOSPC, "No space left on device", str(stage / "report.html"))
    assert f"no space left on device writing {out / 'report.html'};" in str(err.value)
    assert _state(out) == before and not _leftovers(out)


def test_write_files_is_all_or_nothing_and_never_over_an_input(tmp_path, monkeypatch):
    from skintrial._io import _files

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("old a")
    real = _files._write_temp

    def full(path, data):
        if path == b:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(_files, "_write_temp", full)
    with pytest.raises(InputError, match=f"no space left on device writing {b}"):
        write_files({a: "new a", b: "new b"})
    monkeypatch.undo()
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no temporaries left
    link = tmp_path / "link.csv"
    os.link(a, link)
    for target in (a, link):
        with pytest.raises(InputError, match="choose another --out"):
            write_files({target: "x"}, inputs=[a])
    assert a.read_text() == "old a"


def test_a_temporary_left_by_a_killed_writer_is_removed(tmp_path):
    from skintrial._io import _files

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".r.csv.skintrial-{_files._HOST}-{int(dead.stdout)}-abc.part"
    stale.write_text("half")
    write_csv(pd.DataFrame({"x": [1]}), tmp_path / "r.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_csv_formula_cells_are_quoted_and_numbers_stay_numbers(tmp_path):
    """OWASP CSV injection: text beginning with = + - @ tab or CR is written with a leading quote."""
    frame = pd.DataFrame(
        {
            "gene": ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "COL1A1", "-1.5"],
            "log_fc": [-1.5, 2.0, -0.25, 1e-3, 0.0, -3.0, 4.0, np.nan],
            "n": [1, -2, 3, 4, 5, 6, 7, 8],
            "arm": pd.Categorical(["=A", "B", "=A", "B", "B", "B", "B", "B"]),
        }
    ).rename(columns={"n": "=n"})
    path = write_csv(frame, tmp_path / "de.csv")
    back = pd.read_csv(path, keep_default_na=True)
    assert back["gene"].tolist()[:6] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
    ]
    assert back["gene"].tolist()[6] == "COL1A1"
    assert back["gene"].tolist()[7] == "-1.5"  # a number to a spreadsheet, not a formula: as it was
    assert back["log_fc"].dtype == float and back["log_fc"].tolist()[:6] == [
        -1.5,
        2.0,
        -0.25,
        1e-3,
        0.0,
        -3.0,
    ]
    assert list(back.columns) == ["gene", "log_fc", "'=n", "arm"] and back["'=n"].tolist()[1] == -2
    assert back["arm"].tolist()[:2] == ["'=A", "B"]
    assert "-1.5," in path.read_text() and "'-1.5" not in path.read_text()
    assert frame["gene"].iloc[0].startswith("=")  # the caller's frame is untouched

"""Atomic outputs (issue 21 item 4): ``report -o`` and ``export -o`` write a temporary file in
the same folder, fsync it and rename it over the target, so that a SIGKILL or a full disk keeps
the old file whole; ``report -o`` refuses an existing file (a dangling symlink included) without
``--force``; a symlink is replaced, never followed; the error names the file.

The full-disk test mounts a real tmpfs (root only); elsewhere it skips, unless
``POOLNAS_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from poolnas.cli import main
from poolnas.testing import synthetic_studies as S

OLD = "<html>the old report, whole</html>\n"


@pytest.fixture
def study_url(sqlite_url: str) -> str:
    study = S.create("atomic", sqlite_url)
    S.fill(study, [({"attention.pooling": p}, [0.5 + i / 10]) for i, p in enumerate(("gap", "max"))])
    return sqlite_url


def test_report_refuses_an_existing_file_without_force(study_url: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    out.write_text(OLD)
    assert main(["report", "--study", "atomic", "--storage", study_url, "-o", str(out)]) == 2
    assert out.read_text() == OLD and "--force" in capsys.readouterr().err
    assert main(["report", "--study", "atomic", "--storage", study_url, "-o", str(out), "--force"]) == 0
    assert out.read_text().rstrip().endswith("</html>") and out.stat().st_size > 100_000
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("command", ["report", "export"])
def test_a_dangling_symlink_is_not_followed(study_url: str, tmp_path: Path, command: str) -> None:
    target = tmp_path / "elsewhere" / "planted.html"
    target.parent.mkdir()
    link = tmp_path / "out.html"
    link.symlink_to(target)
    argv = [command, "--study", "atomic", "--storage", study_url, "-o", str(link)]
    if command == "export":
        argv += ["--format", "yaml"]
    assert main(argv) == 2  # it exists (as a link): --force needed
    assert main([*argv, "--force"]) == 0
    assert not target.exists()  # the link's target was never created
    assert link.is_file() and not link.is_symlink()


_KILLED_WRITER = textwrap.dedent("""
    import sys
    from poolnas.dashboards import report
    report.render_report = lambda data, figures=None, **_: "<html>" + "x" * 150_000_000 + "</html>"
    from poolnas.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_sigkill_while_the_report_is_written_keeps_the_old_one(study_url: str, tmp_path: Path) -> None:
    """A real SIGKILL while 150 MB are being written: the old report stays whole (the old code
    left a truncated file)."""
    out = tmp_path / "r.html"
    for attempt in range(2):
        out.write_text(OLD)
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, "report", "--study", "atomic",
                                 "--storage", study_url, "-o", str(out), "--force"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        writing = False
        while time.monotonic() < deadline and proc.poll() is None:
            temps = [p for p in tmp_path.iterdir() if p.name.startswith(".r.html.")]
            if out.stat().st_size != len(OLD) or any(t.stat().st_size > 0 for t in temps):
                writing = True
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        assert writing, proc.stderr.read().decode()[-2000:]
        text = out.read_bytes()
        assert text == OLD.encode() or (text.startswith(b"<html>") and text.endswith(b"</html>")), \
            (attempt, len(text))


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    """A real 512 kB tmpfs (mount needs root); skipped elsewhere unless POOLNAS_REQUIRE_ALL=1."""
    folder = Path(tempfile.mkdtemp(prefix="poolnas-tmpfs-"))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        folder.rmdir()
        if os.environ.get("POOLNAS_REQUIRE_ALL") == "1":
            pytest.fail(f"cannot mount a tmpfs (needs root): {proc.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs (needs root): {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)
        folder.rmdir()


def test_a_full_disk_keeps_the_old_report_and_names_the_file(study_url: str, tiny_disk: Path,
                                                             capsys) -> None:
    out = tiny_disk / "r.html"
    out.write_text(OLD * 1000)  # 35 kB: a report of 1 MB (plotly.js inside) cannot fit
    before = out.read_text()
    code = main(["report", "--study", "atomic", "--storage", study_url, "-o", str(out), "--force"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert str(out) in err and "No space left on device" in err
    assert out.read_text() == before
    assert [p.name for p in tiny_disk.iterdir()] == ["r.html"]  # no temporary file left
    yaml_out = tiny_disk / "best.yaml"
    yaml_out.write_text("kept: true\n")
    filler = tiny_disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # the disk full to the last byte
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    assert main(["export", "--study", "atomic", "--storage", study_url, "-o", str(yaml_out),
                 "--force"]) == 1
    assert yaml_out.read_text() == "kept: true\n" and str(yaml_out) in capsys.readouterr().err

"""Until the loader copies the lesson's format_version into every check spec (the judge reads it
there: sandbox/judging/checks.py format_version/judge_side), do it here. Run tutor commands as
`.venv/bin/python drafts/shim.py lint ...`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tutor.course.loader as loader  # noqa: E402

_original = loader._exercise


def _exercise(ex, i, lesson_id, version, *args, **kwargs):
    made = _original(ex, i, lesson_id, version, *args, **kwargs)
    for spec in made.checks:
        spec.setdefault("format_version", version)
    return made


loader._exercise = _exercise

if __name__ == "__main__":
    from tutor.cli import main

    sys.exit(main(sys.argv[1:]))

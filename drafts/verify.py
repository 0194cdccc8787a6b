"""Run authored mistakes and alternatives of chapter-1 lessons through the real checker.

usage: .venv/bin/python drafts/verify.py LESSON [EXERCISE] [--seeds 1,2,3] [--only mistakes|alternatives|ref]

Mistakes/alternatives are taken from the lesson YAML (exercise keys `mistakes:`/`alternatives:`)
and, while the loader rejects those keys, from drafts/LESSON.yaml ({exercise: {mistakes, alternatives}}).
A mistake must fail on every seed with all its `expect` words in the failure text; an alternative
(and the reference) must pass on every seed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tutor.context import Context  # noqa: E402


def lesson_file(lesson_id: str) -> Path:
    ch = int(lesson_id.split(".")[0])
    return next((ROOT / "lessons" / f"ch{ch:02d}").glob(f"{lesson_id}-*.yaml"))


def authored(lesson_id: str) -> dict:
    out: dict = {}
    raw = yaml.safe_load(lesson_file(lesson_id).read_text())
    for ex in raw.get("exercises", []):
        if ex.get("kind") == "predict":
            continue
        out[ex["id"]] = {"mistakes": list(ex.get("mistakes") or []), "alternatives": list(ex.get("alternatives") or []),
                         "solution": ex.get("solution"), "starter": ex.get("starter")}
    side = ROOT / "drafts" / f"{lesson_id}.yaml"
    if side.exists():
        for ex_id, extra in (yaml.safe_load(side.read_text()) or {}).items():
            if ex_id.startswith("_"):
                continue
            slot = out.setdefault(ex_id, {"mistakes": [], "alternatives": []})
            slot["mistakes"] += extra.get("mistakes") or []
            slot["alternatives"] += extra.get("alternatives") or []
    return out


def text_of(result) -> str:
    parts = [f"[{c.status}] {c.name}: {c.message}" for c in result.checks if c.status != "pass"]
    if result.detail:
        parts.append(f"detail: {result.detail}")
    if result.error:
        parts.append(f"error: {result.error}")
    if result.status != "pass" and result.stderr:
        parts.append("stderr: " + result.stderr[-600:])
    return "\n".join(parts)


def predicts(lesson_id: str) -> list:
    raw = yaml.safe_load(lesson_file(lesson_id).read_text())
    out = [ex for ex in raw.get("exercises", []) if ex.get("kind") == "predict"]
    side = ROOT / "drafts" / f"{lesson_id}.yaml"
    if side.exists():
        out += (yaml.safe_load(side.read_text()) or {}).get("_predict") or []
    return out


def check_predict(q: dict) -> str:
    """'' when exactly one choice matches what the snippet really does, else the problem."""
    import subprocess

    proc = subprocess.run([sys.executable, "-c", q["snippet"]], capture_output=True, text=True, timeout=120)
    observe = q.get("observe", "last_line")
    if observe == "raises":
        got = "no error"
        if proc.returncode != 0:
            last = proc.stderr.strip().splitlines()[-1]
            got = last.split(":")[0].split(".")[-1]
    elif observe == "stdout":
        got = proc.stdout.strip()
    else:
        lines = proc.stdout.strip().splitlines()
        got = lines[-1].strip() if lines else ""
        if proc.returncode != 0:
            return f"snippet raised: {proc.stderr.strip().splitlines()[-1]}"
    hits = [c for c in q["choices"] if str(c).strip() == got]
    if len(hits) != 1:
        return f"observed {got!r}; choices matching: {hits}"
    print(f"    {q['id']}: answer is choice {q['choices'].index(hits[0]) + 1} ({got})")
    return ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("lesson")
    ap.add_argument("exercise", nargs="?")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--only", default="")
    ap.add_argument("--name", default="", help="only items whose name contains this")
    ap.add_argument("-v", action="store_true", help="print every failure message")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    ctx = Context(device="cpu")
    bad = 0
    tmp = Path(tempfile.mkdtemp(prefix="l1verify-"))
    for ex_id, items in authored(args.lesson).items():
        if args.exercise and ex_id != args.exercise:
            continue
        exercise = ctx.course.find_exercise(f"{args.lesson}/{ex_id}")
        if exercise is None:
            print(f"?? {args.lesson}/{ex_id} not in course"); bad += 1; continue
        todo = []
        if args.only in ("", "ref"):
            todo.append(("ref", "reference", {"code": items.get("solution") or exercise.solution}))
            todo.append(("mistake", "starter", {"code": items.get("starter") or exercise.starter, "expect": []}))
        if args.only in ("", "mistakes"):
            todo += [("mistake", m["name"], m) for m in items["mistakes"]]
        if args.only in ("", "alternatives"):
            todo += [("alt", a["name"], a) for a in items["alternatives"]]
        for kind, name, item in todo:
            if args.name and args.name not in name:
                continue
            path = tmp / f"{ex_id}.py"
            path.write_text(item["code"])
            verdicts, problems, sample, worst = [], [], "", 0.0
            for seed in seeds:
                t0 = time.time()
                result = ctx.engine.submit(ctx.request(exercise, path, seed=seed))
                worst = max(worst, result.duration_ms)
                text = text_of(result)
                if kind in ("ref", "alt"):
                    if result.status != "pass":
                        problems.append(f"seed {seed}: {result.status}\n{text}")
                else:
                    if result.status != "fail":
                        problems.append(f"seed {seed}: {result.status} (should fail)\n{text}")
                    else:
                        missing = [w for w in item.get("expect", []) if w.lower() not in text.lower()]
                        if missing:
                            problems.append(f"seed {seed}: missing {missing} in\n{text}")
                if not sample:
                    sample = text
            mark = "ok " if not problems else "BAD"
            bad += bool(problems)
            print(f"{mark} {args.lesson}/{ex_id} {kind:7} {name}  ({worst:.0f} ms max)")
            if problems:
                print("    " + problems[0].replace("\n", "\n    "))
            elif args.v and sample:
                print("    " + sample.replace("\n", "\n    "))
    ctx.close()
    if args.only in ("", "predict") and not args.exercise:
        for q in predicts(args.lesson):
            problem = check_predict(q)
            print(("BAD " if problem else "ok  ") + f"{args.lesson}/{q['id']} predict  {problem}")
            bad += bool(problem)
    print(f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Scratch verifier for draft mistakes/alternatives (until the v2 lint exists).

drafts/<lesson>.yaml:  {exercise_id: {mistakes: [{name, code, expect}], alternatives: [{name, code}]}}
Usage: .venv/bin/python drafts/verify.py 2.1 [--seeds 1,2,3] [--only EXID] [--show]
Each mistake must FAIL (check failure, not crash) with every `expect` word in the message;
each alternative, the reference and the starter are run too (reference/alternatives must pass).
"""
import argparse, sys, tempfile, time
from pathlib import Path
import yaml
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tutor.context import Context
from tutor.workspace import starter_text

ap = argparse.ArgumentParser()
ap.add_argument("lesson")
ap.add_argument("--seeds", default="1,2,3")
ap.add_argument("--only")
ap.add_argument("--show", action="store_true")
ap.add_argument("--no-ref", action="store_true")
a = ap.parse_args()
seeds = [int(s) for s in a.seeds.split(",")]
root = Path(__file__).resolve().parent
ctx = Context(builtin_lessons=True, device="cpu")
lesson = ctx.course.lesson(a.lesson)
assert lesson, a.lesson
dpath = root / f"{a.lesson}.yaml"
drafts = yaml.safe_load(dpath.read_text()) if dpath.exists() else {}
bad = 0
import subprocess
for q in drafts.get("_predict", []):
    r = subprocess.run([sys.executable, "-c", q["snippet"]], capture_output=True, text=True, timeout=120)
    obs = q.get("observe", "last_line")
    if obs == "raises":
        got = "no error" if r.returncode == 0 else r.stderr.strip().splitlines()[-1].split(":")[0].split(".")[-1]
    elif obs == "stdout":
        got = r.stdout.strip()
    else:
        got = (r.stdout.strip().splitlines() or [""])[-1].strip()
    hits = [c for c in q["choices"] if c.strip() == got]
    ok = len(hits) == 1
    bad += not ok
    print(f"{'ok ' if ok else 'BAD'} predict {q['id']}: observed {got!r}; matches {hits}")
    if r.returncode and obs != "raises":
        print("   stderr:", r.stderr[-300:])
eng = ctx.engine
with tempfile.TemporaryDirectory() as tmp:
    for ex in lesson.exercises:
        if a.only and ex.id != a.only:
            continue
        d = drafts.get(ex.id, {}) or {}
        items = []
        if not a.no_ref:
            items.append(("ref", "reference", ex.solution, None))
            items.append(("starter", "starter", starter_text(ex), []))
        items += [("mistake", m["name"], m["code"], m.get("expect", [])) for m in d.get("mistakes", [])]
        items += [("alt", m["name"], m["code"], None) for m in d.get("alternatives", [])]
        print(f"== {ex.ref}: {len(d.get('mistakes', []))} mistakes, {len(d.get('alternatives', []))} alternatives")
        for kind, name, code, expect in items:
            f = Path(tmp) / f"{ex.id}.py"
            f.write_text(code)
            for seed in seeds:
                t = time.time()
                r = eng.submit(ctx.request(ex, f, seed=seed))
                msg = "\n".join(f"[{c.status}] {c.name}: {c.message}" for c in r.checks)
                if r.error: msg += "\nERROR " + r.error
                if r.outcome != "ok": msg += f"\nOUTCOME {r.outcome} {r.detail} {r.stderr[-300:]}"
                ok = True
                if kind in ("ref", "alt"):
                    ok = r.status == "pass"
                else:
                    failed = [c for c in r.checks if c.status == "fail"]
                    ok = r.status == "fail" and r.outcome == "ok" and bool(failed)
                    if ok and expect:
                        text = " ".join(c.message + " " + c.name for c in failed).lower()
                        missing = [w for w in expect if w.lower() not in text]
                        if missing:
                            ok = False
                            msg += f"\nMISSING expect words: {missing}"
                mark = "ok " if ok else "BAD"
                bad += not ok
                print(f"  {mark} {kind:7} {name[:50]:50} seed={seed} {r.status} {r.child_ms/1000:.2f}s")
                if not ok or a.show:
                    print("      " + msg.replace("\n", "\n      "))
ctx.close()
print("BAD:", bad)
sys.exit(1 if bad else 0)

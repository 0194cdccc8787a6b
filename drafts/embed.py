"""Move drafts/LESSON.yaml (mistakes, alternatives, _predict) into the lesson YAML, as text.

usage: .venv/bin/python drafts/embed.py LESSON    (then delete the draft file)
Each predict entry has `before: EXERCISE_ID` (or none: appended at the end of the exercises).
"""
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def block(text: str, indent: int) -> str:
    pad = " " * indent
    return "\n".join(pad + line if line.strip() else "" for line in text.rstrip("\n").split("\n")) + "\n"


def samples(key: str, items: list) -> str:
    out = f"    {key}:\n"
    for item in items:
        out += f"      - name: {json.dumps(item['name'], ensure_ascii=False)}\n        code: |\n"
        out += block(item["code"], 10)
        if "expect" in item:
            out += f"        expect: {json.dumps(item['expect'], ensure_ascii=False)}\n"
    return out


def predict(q: dict) -> str:
    out = f"  - id: {q['id']}\n    kind: predict\n    title: {json.dumps(q['title'], ensure_ascii=False)}\n"
    out += "    prompt: |\n" + block(q["prompt"], 6)
    out += "    snippet: |\n" + block(q["snippet"], 6)
    out += f"    choices: {json.dumps(q['choices'], ensure_ascii=False)}\n"
    out += f"    observe: {q.get('observe', 'last_line')}\n"
    out += "    explanation: |\n" + block(q["explanation"], 6)
    return out + "\n"


def main(lesson: str) -> None:
    ch = int(lesson.split(".")[0])
    path = next((ROOT / "lessons" / f"ch{ch:02d}").glob(f"{lesson}-*.yaml"))
    draft = yaml.safe_load((ROOT / "drafts" / f"{lesson}.yaml").read_text())
    lines = path.read_text().split("\n")
    ids = [(i, line[len("  - id: "):].strip()) for i, line in enumerate(lines) if line.startswith("  - id: ")]
    ex_start = next(i for i, line in enumerate(lines) if line.startswith("exercises:"))
    end = next((i for i, line in enumerate(lines) if i > ex_start and line and not line.startswith(" ")
                and not line.startswith("#")), len(lines))
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1
    inserts: dict[int, str] = {}
    for n, (i, ex_id) in enumerate(ids):
        stop = ids[n + 1][0] if n + 1 < len(ids) else end
        while not lines[stop - 1].strip():
            stop -= 1
        extra = draft.get(ex_id) or {}
        text = ""
        if extra.get("mistakes"):
            text += samples("mistakes", extra["mistakes"])
        if extra.get("alternatives"):
            text += samples("alternatives", extra["alternatives"])
        if text:
            inserts[stop] = inserts.get(stop, "") + text
    for q in draft.get("_predict") or []:
        at = dict((ex_id, i) for i, ex_id in ids).get(q.get("before"), end)
        inserts[at] = predict(q) + inserts.get(at, "")
    out = []
    for i, line in enumerate(lines):
        if i in inserts:
            out.append(inserts[i].rstrip("\n"))
        out.append(line)
    if len(lines) in inserts:
        out.append(inserts[len(lines)].rstrip("\n"))
    path.write_text("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])

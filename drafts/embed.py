"""Move drafts/<lesson>.yaml (mistakes, alternatives, _predict) into the lesson file, as text.

Usage: .venv/bin/python drafts/embed.py lessons/ch02/2.1-computational-graphs.yaml drafts/2.1.yaml
Each exercise gets `mistakes:`/`alternatives:` appended to its block (replacing any already
there); predict questions go after the exercise named by `_after` (default: the end).
"""
import re, sys
import yaml

lesson_path, draft_path = sys.argv[1], sys.argv[2]
text = open(lesson_path).read()
drafts = yaml.safe_load(open(draft_path))


def block(value, indent):
    pad = " " * indent
    if isinstance(value, str) and "\n" in value:
        return "|\n" + "".join((pad + "  " + line if line.strip() else "") + "\n" for line in value.rstrip("\n").split("\n"))
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1000).strip().removesuffix("\n...") + "\n"


def items_text(key, items, indent=4):
    pad = " " * indent
    out = f"{pad}{key}:\n"
    for item in items:
        first = True
        for k, v in item.items():
            lead = f"{pad}  - " if first else f"{pad}    "
            out += f"{lead}{k}: " + block(v, indent + 4)
            first = False
    return out


head, body = text.split("\nexercises:\n", 1)
starts = [m.start() for m in re.finditer(r"^  - id: ", body, re.M)]
chunks = [body[a:b] for a, b in zip(starts, starts[1:] + [len(body)])]
pre = body[:starts[0]]
out_chunks = []
for chunk in chunks:
    ex_id = re.match(r"  - id: (\S+)", chunk).group(1)
    d = drafts.get(ex_id) or {}
    chunk = re.sub(r"^    (mistakes|alternatives):\n(?:(?:      .*| *)\n)*", "", chunk, flags=re.M)
    if d:
        chunk = chunk.rstrip("\n") + "\n"
        if d.get("mistakes"):
            chunk += items_text("mistakes", d["mistakes"])
        if d.get("alternatives"):
            chunk += items_text("alternatives", d["alternatives"])
        chunk += "\n"
    out_chunks.append((ex_id, chunk))
for q in drafts.get("_predict", []):
    q = dict(q)
    after = q.pop("_after", None)
    ids = [i for i, _ in out_chunks]
    if q["id"] in ids:
        out_chunks = [(i, c) for i, c in out_chunks if i != q["id"]]
        ids = [i for i, _ in out_chunks]
    q = {"id": q.pop("id"), "kind": "predict", **q}
    qt = ""
    first = True
    for k, v in q.items():
        qt += ("  - " if first else "    ") + f"{k}: " + block(v, 4)
        first = False
    pos = ids.index(after) + 1 if after in ids else len(out_chunks)
    prev_id, prev = out_chunks[pos - 1]
    out_chunks[pos - 1] = (prev_id, prev.rstrip("\n") + "\n\n")
    out_chunks.insert(pos, (q["id"], qt + "\n"))
result = head + "\nexercises:\n" + pre + "".join(c for _, c in out_chunks)
open(lesson_path, "w").write(result.rstrip("\n") + "\n")

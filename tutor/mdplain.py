"""Markdown (hints, messages, explanations) as plain text for the CLI and logs.

Lessons write hints and check messages in Markdown; the TUI renders it, a plain terminal
(``check``, ``answer``, ``lint``, ``NO_COLOR`` pipes) should read naturally without markup
characters. This handles what lessons use: emphasis, inline code, links, headings, lists,
block quotes, fenced code and backslash escapes. No dependencies, no torch.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPH = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])")


def _inline(text: str) -> str:
    # Code spans first, kept verbatim: emphasis characters inside them are code, not markup.
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(2).strip() if match.group(2).strip() else match.group(2))
        return f"\x00{len(spans) - 1}\x00"

    def keep_literal(char: str) -> str:
        spans.append(char)
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(keep, text)
    # Escaped characters are literal: set aside like code, so no rule below reads them as markup.
    text = _ESCAPE.sub(lambda m: keep_literal(m.group(1)), text)
    text = _IMAGE.sub(lambda m: f"[image: {m.group(1) or m.group(2)}]", text)
    text = _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPH.sub(r"\2", text)
    text = _STRIKE.sub(r"\1", text)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], text)


def to_plain(markdown: str) -> str:
    """``markdown`` as plain text: markup removed, structure kept with indentation."""
    out: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append("    " + line)
            continue
        if _RULE.match(line):
            out.append("")
            continue
        heading = _HEADING.match(line)
        if heading:
            out.append(_inline(heading.group(1)))
            continue
        quote = ""
        while _QUOTE.match(line):
            line = _QUOTE.sub("", line, count=1)
            quote += "  "
        bullet = _BULLET.match(line)
        if bullet:
            line = bullet.group(1) + "- " + line[bullet.end():]
        out.append(quote + _inline(line))
    return "\n".join(out).strip("\n")

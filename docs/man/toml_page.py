#!/usr/bin/env python3
"""toml_page.py: writes bytenite-submitd.toml(5), in scdoc, from config/example.toml.

config/example.toml is the one place where every configuration key is described (the daemon's
loader and its tests check the keys; the packaged docs ship the file), so the manual page is
made from it rather than written twice: the header comment becomes DESCRIPTION, each [section]
a subsection, and each run of comment lines followed by one or more keys (`# key = default`
when unset by default, `key = value` when set) one entry.

Usage: toml_page.py EXAMPLE_TOML > bytenite-submitd.toml.5.scd
"""
import re
import sys

KEY = re.compile(r"^#? ?([a-z_]+) = (.+)$")


def escape(text):
    """scdoc reads * and _ as emphasis and \\ as an escape."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def entries(lines):
    """Yields (description lines, [(key, value)]) for one section's lines."""
    text, keys = [], []
    for line in lines + [""]:
        key = KEY.match(line)
        if key:
            keys.append(key.groups())
        elif line.startswith("#"):
            if keys:
                yield text, keys
                text, keys = [], []
            text.append(line[1:].strip())
        elif not line.strip() and keys:
            yield text, keys
            text, keys = [], []
        elif not line.strip() and text:
            text.append("")
    if keys:
        yield text, keys


def page(source):
    lines = source.splitlines()
    first_section = next(i for i, line in enumerate(lines) if line.startswith("["))
    header = [line[1:].strip() for line in lines[:first_section] if line.startswith("#")]
    out = ["bytenite-submitd.toml(5)", "", "# NAME", "",
           "bytenite-submitd.toml - the configuration of bytenite-submitd", "", "# DESCRIPTION", ""]
    out += [escape(line) for line in header[1:]]
    out += ["", "# SECTIONS AND KEYS", "",
            "Each key is shown as the example file has it, with its default where it has one; "
            "the text says where the value is only an example (*spool.dir* has no default).", ""]
    sections, name, body = [], None, []
    for line in lines[first_section:]:
        if line.startswith("["):
            if name:
                sections.append((name, body))
            name, body = line.strip(), []
        else:
            body.append(line)
    sections.append((name, body))
    for name, body in sections:
        out += [f"## {escape(name)}", ""]
        for text, keys in entries(body):
            out.append("; ".join(f"*{escape(k)}* = {escape(v)}" for k, v in keys))
            paragraph = [escape(t) for t in text]
            while paragraph and not paragraph[-1]:
                paragraph.pop()
            out += ["\t" + t if t else "" for t in paragraph] or ["\t(no description)"]
            out.append("")
    out += ["# FILES", "", "_/etc/bytenite-submitd/config.toml_", "\tThe configuration the packaged unit reads.", "",
            "_/usr/share/doc/bytenite-submitd/example.toml_", "\tThe file this page is made from.", "",
            "# SEE ALSO", "", "*bytenite-submitd*(8), *bytenite-submit*(1)", ""]
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.stdout.write(page(f.read()))

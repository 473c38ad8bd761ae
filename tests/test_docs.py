"""The manual's commands work: README.md, CONTRIBUTING.md and docs/*.md.

* Every ``streamseg`` and ``python tools/NAME.py`` command they show, in a shell block or in
  inline code, names a command and options that exist (checked against its ``--help``).
* The cheap shell blocks run, in order, in a temporary folder, and must succeed. A block with
  a ``# slow`` comment (``# slow: why``) is not run: it takes long, installs packages, reads
  ``../shared/data``, needs a camera or Ray, or runs until stopped (CONTRIBUTING.md).
* The Python examples of docs/*.md pass as doctests (README.md's run through pytest's
  ``--doctest-glob``), and every relative link and anchor points at something that exists.
"""

from __future__ import annotations

import doctest
import functools
import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = ("bash", "sh", "shell", "console")
SLOW = re.compile(r"(^|\s)# slow\b", re.MULTILINE)
GLOBAL_OPTIONS = {"-v", "--verbose", "-q", "--quiet", "--debug", "-h", "--help"}
#: How long a cheap block may take before it counts as hung (not a speed budget).
BLOCK_TIMEOUT = 600


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def blocks(path: Path) -> list[tuple[int, str, str]]:
    """The fenced code blocks of ``path``: (line of the fence, language, text)."""
    out, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        indent, start, body = len(fence.group(1)), i + 1, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:])
            i += 1
        out.append((start, fence.group(2), "\n".join(body)))
        i += 1
    return out


def shell_commands(lang: str, text: str) -> list[str]:
    """The command lines of a shell block (continuations joined; a console's ``$`` lines)."""
    text = text.replace("\\\n", " ")
    lines = text.splitlines()
    if lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def inline_commands(path: Path) -> list[str]:
    """Inline code that is a command: ``streamseg ...`` or ``python tools/...``."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    spans = re.findall(r"`([^`\n]+)`", text.replace("`\n", "` ").replace("\n", " "))
    return [s for s in spans if re.match(r"(streamseg|python tools/)\S* ", s + " ")]


def all_commands(path: Path) -> list[str]:
    found = inline_commands(path)
    for _, lang, text in blocks(path):
        if lang in SHELLS:
            found += shell_commands(lang, text)
    return found


def invocations(command: str) -> list[list[str]]:
    """Each ``streamseg``/``python tools/X.py`` invocation in a shell line, as its words."""
    lexer = shlex.shlex(command.replace("\\|", "|"), posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # an unclosed quote in a placeholder
        words = command.split()
    found: list[list[str]] = []
    current: list[str] | None = None
    at_start = True  # the next word is a command, not an argument
    for word in words:
        if word and set(word) <= set(";&|()"):
            current, at_start = None, True
        elif at_start and word in ("streamseg", "python"):
            current, at_start = [word], False
            found.append(current)
        elif current is not None:
            current.append(word)
        else:
            at_start = word in ("do", "then", "else", "time")
    return [w for w in found if w[0] == "streamseg" or (len(w) > 1 and w[1].startswith("tools/"))]


def _options(help_text: str) -> set[str]:
    """The options a ``--help`` lists (Click's and argparse's layout alike)."""
    names = set()
    for line in help_text.splitlines():
        if re.match(r"^\s{1,6}-\S", line):
            spec = re.split(r"\s{2,}", line.strip())[0]
            names |= set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", spec))
    return names


@functools.cache
def _help(*argv: str) -> str:
    result = subprocess.run(
        [*argv, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{' '.join(argv)} --help failed:\n{result.stderr}"
    return result.stdout


def _streamseg_help(*words: str) -> str:
    return _help(sys.executable, "-m", "streamseg", *words)


def _subcommands(help_text: str) -> set[str]:
    section = help_text.split("Commands:", 1)[1] if "Commands:" in help_text else ""
    return {m.group(1) for m in re.finditer(r"^\s{2}([\w-]+)\s", section, re.MULTILINE)}


def _words(tokens: list[str]) -> list[str]:
    """Tokens with the placeholders' brackets and redirections dropped."""
    out, skip = [], False
    for token in tokens:
        if skip:
            skip = False
            continue
        if token in (">", ">>", "<", "2>"):
            skip = True
            continue
        token = token.strip("[]")
        if token and token not in ("...", "…"):
            out.append(token)
    return out


def check_invocation(tokens: list[str]) -> list[str]:
    """What is wrong with one invocation (empty: it parses)."""
    words = _words(tokens)
    if words[0] == "python":
        tool = ROOT / words[1]
        if not tool.is_file():
            return [f"{words[1]} does not exist"]
        known, given = _options(_help(sys.executable, str(tool))), words[2:]
    else:
        given = words[1:]
        positional = [w for w in given if not w.startswith("-")]
        if not positional:
            return []
        command = [positional[0]]
        if command[0].isupper():  # a placeholder: `streamseg COMMAND --help`
            return []
        if command[0] not in _subcommands(_streamseg_help()):
            return [f"no command {command[0]!r}"]
        sub = _subcommands(_streamseg_help(*command))
        if sub:
            if len(positional) < 2 or positional[1].split("|")[0] not in sub:
                return [f"{command[0]} needs one of {sorted(sub)}"]
            command.append(positional[1].split("|")[0])
        known = _options(_streamseg_help(*command)) | GLOBAL_OPTIONS
    problems = []
    for word in given:
        if re.match(r"^--?[A-Za-z]", word):
            name = word.split("=", 1)[0]
            if re.fullmatch(r"-([a-z])\1+", name):  # -vv
                name = name[:2]
            if name not in known:
                problems.append(f"unknown option {name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_command_shown_parses(page):
    """A renamed option or command fails here, wherever the manual mentions it."""
    problems = []
    for command in all_commands(page):
        for tokens in invocations(command):
            problems += [f"{' '.join(tokens)}: {p}" for p in check_invocation(tokens)]
    assert not problems, "\n".join(problems)


def test_the_parse_check_catches_a_wrong_option_and_command():
    assert check_invocation(["streamseg", "run", "--source", "x", "--masks", "m"]) == []
    assert check_invocation(["streamseg", "run", "--mask", "m"]) == ["unknown option --mask"]
    assert check_invocation(["streamseg", "runn"]) == ["no command 'runn'"]
    assert check_invocation(["streamseg", "config", "list"]) == []
    assert check_invocation(["python", "tools/bench.py", "--methods", "mog2", "--fast"]) == [
        "unknown option --fast"
    ]
    [loop] = invocations("for s in 0 1; do streamseg synth s$s --seed $s > log; done")
    assert loop == ["streamseg", "synth", "s$s", "--seed", "$s", ">", "log"]
    assert invocations("ruff check streamseg tests && python tools/soak.py -h") == [
        ["python", "tools/soak.py", "-h"]
    ]


def _runnable(page: Path) -> list[tuple[int, str]]:
    return [
        (line, "\n".join(shell_commands(lang, text)))
        for line, lang, text in blocks(page)
        if lang in SHELLS and not SLOW.search(text)
    ]


@pytest.mark.parametrize("page", [p for p in PAGES if _runnable(p)], ids=_name)
def test_the_cheap_shell_blocks_run(page, tmp_path):
    """Each block not marked ``# slow`` runs as shown, the blocks of a page in order."""
    env = dict(os.environ)
    scripts = sysconfig.get_path("scripts")
    env["PATH"] = os.pathsep.join([scripts, str(Path(sys.executable).parent), env["PATH"]])
    for line, script in _runnable(page):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
        assert result.returncode == 0, (
            f"{_name(page)}:{line} exited {result.returncode}\n{script}\n"
            f"--- stderr ---\n{result.stderr[-3000:]}"
        )


@pytest.mark.parametrize(
    "page", [p for p in PAGES if ">>> " in p.read_text() and p.name != "README.md"], ids=_name
)
def test_the_python_examples_in_docs_pass(page):
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags, verbose=False)
    assert result.failed == 0


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_point_at_what_exists(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(target)
    assert not broken, f"{_name(page)}: {broken}"


def test_the_readme_is_a_manual_of_at_most_300_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300

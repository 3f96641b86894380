"""The Windows scheduling path, checked without Windows: the PowerShell installer's strings and the task XML.

There is no PowerShell on CI, so the installer is scanned for the mistakes that make PowerShell refuse to
parse it or read it wrongly, and the task XML is filled in as the installer does and read back.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-task.ps1"
TEMPLATE = ROOT / "cron" / "autotrainer-task.xml"
NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
# `$name:` inside "..." is a scope or drive qualifier: only these may stand before the colon, and only when a
# variable name follows it ("$env:TEMP"); anything else needs braces ("${user}:") or PowerShell refuses the script.
QUALIFIERS = {"env", "global", "local", "script", "private", "using", "variable", "function", "alias"}
_QUALIFIED = re.compile(r"(?<!`)\$([A-Za-z_][A-Za-z0-9_]*):(.?)")


def expandable_strings(source: str) -> list[tuple[int, str]]:
    """(line, body) of every double-quoted string and @"..."@ here-string, skipping comments and '...' strings."""
    found: list[tuple[int, str]] = []
    i, n = 0, len(source)

    def after(token: str, start: int) -> int:
        end = source.find(token, start)
        return n if end < 0 else end + len(token)

    while i < n:
        if source.startswith("<#", i):
            i = after("#>", i + 2)
        elif source[i] == "#":
            i = after("\n", i)
        elif source.startswith('@"', i):
            end = after('\n"@', i + 2)
            found.append((source.count("\n", 0, i) + 1, source[i + 2:end - 3]))
            i = end
        elif source.startswith("@'", i):
            i = after("\n'@", i + 2)
        elif source[i] in "'\"":
            quote, escapes, j = source[i], ("'" if source[i] == "'" else '`"'), i + 1
            while j < n and not (source[j] == quote and source[j + 1:j + 2] != quote):
                j += 2 if source[j] in escapes else 1
            if quote == '"':
                found.append((source.count("\n", 0, i) + 1, source[i + 1:j]))
            i = j + 1
        else:
            i += 1
    return found


def bad_qualified_variables(source: str) -> list[str]:
    """Every `$name:` in an expandable string that PowerShell would not accept as a variable reference."""
    bad = []
    for line, body in expandable_strings(source):
        for match in _QUALIFIED.finditer(body):
            name, after = match.group(1), match.group(2)
            if name.lower() not in QUALIFIERS or not re.match(r"[A-Za-z0-9_?]", after):
                bad.append(f"line {line}: \"{body}\"")
    return bad


@pytest.mark.parametrize("snippet, bad", [
    ('Write-Host "task for $user: $exe"', True),
    ('Write-Host "$env: nothing"', True),
    ('Write-Host "task for ${user}: $exe"', False),
    ('$tmp = Join-Path $env:TEMP "x"; "$env:TEMP\\x"', False),
    ("Write-Host 'literal $user: text'", False),
    ('Write-Host "escaped `$user: text"', False),
    ('# a comment "$user: x"\nWrite-Host "ok"', False),
    ('Write-Host "quote "" then $user: x"', True),
    ('$s = @"\nfor $user: here\n"@', True),
])
def test_scanner_finds_an_unbraced_variable_before_a_colon(snippet: str, bad: bool) -> None:
    assert bool(bad_qualified_variables(snippet)) is bad


def test_installer_strings_all_parse() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert expandable_strings(source), "the scanner found no strings at all in the installer"
    assert bad_qualified_variables(source) == []


def test_installer_is_ascii() -> None:
    """Windows PowerShell 5.1 reads a .ps1 without a byte-order mark in the ANSI code page, not UTF-8."""
    SCRIPT.read_bytes().decode("ascii")


def _filled(project_dir: str, user: str) -> ET.Element:
    """The task XML as the installer fills it in: XML-escaped values in place of the placeholders."""
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("@PROJECT_DIR@", escape(project_dir)).replace("@USER_ID@", escape(user))
    return ET.fromstring(text.encode("utf-8"))


def test_task_runs_from_a_folder_with_spaces_and_ampersand_and_keeps_its_output() -> None:
    project = r"C:\Users\Budi Santoso\R&D\autotrainer"
    task = _filled(project, r"TRADER-PC\Budi Santoso")
    exec_ = task.find("t:Actions/t:Exec", NS)
    assert task.find("t:Principals/t:Principal/t:UserId", NS).text == r"TRADER-PC\Budi Santoso"
    # Windows refuses a quoted "Start in" folder; the working directory is the bare path.
    assert exec_.find("t:WorkingDirectory", NS).text == project
    assert exec_.find("t:Command", NS).text == r"%SystemRoot%\System32\cmd.exe"
    arguments = exec_.find("t:Arguments", NS).text
    # cmd /s /c drops the first and the last quote and runs the rest as one command line.
    assert arguments.startswith('/d /s /c "') and arguments.endswith('"')
    command_line = arguments[len('/d /s /c "'):-1]
    assert command_line == (f'"{project}\\.venv\\Scripts\\autotrainer.exe" check --run '
                            f'>> "{project}\\logs\\task.log" 2>&1')


def test_installer_escapes_what_it_puts_into_the_xml_and_makes_the_log_folder() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    for placeholder in ("@PROJECT_DIR@", "@USER_ID@"):
        assert re.search(rf'Replace\("{placeholder}", \[System\.Security\.SecurityElement\]::Escape\(', source)
    assert 'New-Item -ItemType Directory -Force -Path (Join-Path $ProjectDir "logs")' in source
    assert "Resolve-Path -LiteralPath $ProjectDir" in source  # a relative -ProjectDir means nothing to the task

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

ROOT = Path(__file__).resolve().parents[2]
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


def installer_table(name: str) -> dict[str, str]:
    """One of the installer's one-line hashtables, `$name = @{ "key" = "value"; ... }`, as a dict."""
    match = re.search(rf"^\${name} = @\{{(.*)\}}$", SCRIPT.read_text(encoding="utf-8"), re.M)
    assert match, f"no one-line ${name} table in the installer"
    return dict(re.findall(r'"(\w+)" = "([^"]*)"', match.group(1)))


def installer_tasks(source: str) -> dict[str, dict[str, str]]:
    """What each Install-AutotrainerTask call of the installer fills in for -Source `source`, by task-name variable."""
    calls = re.findall(r'^Install-AutotrainerTask \$(\w+) ("[^"]*"|\(\$checkCommands\[\$Source\]\)) "([^"]*)" "(true|false)"',
                       SCRIPT.read_text(encoding="utf-8"), re.M)
    commands = installer_table("checkCommands")
    return {name: {"COMMAND": command.strip('"') if command.startswith('"') else commands[source],
                   "LOG_NAME": log_name, "TRIGGER_ENABLED": trigger, "LOGON_TYPE": installer_table("logonTypes")[source]}
            for name, command, log_name, trigger in calls}


def _filled(project_dir: str, user: str, source: str = "mt5", task: str = "TaskName") -> ET.Element:
    """The task XML as the installer fills it in: XML-escaped values in place of the placeholders."""
    values = {**installer_tasks(source)[task], "DESCRIPTION": "what it does", "PROJECT_DIR": project_dir, "USER_ID": user}
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", escape(value))
    assert not re.search(r"@[A-Z_]+@", text), "a placeholder the installer does not fill"
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


def test_installer_fills_every_placeholder_of_the_template() -> None:
    placeholders = set(re.findall(r"@([A-Z_]+)@", TEMPLATE.read_text(encoding="utf-8")))
    assert placeholders >= {"PROJECT_DIR", "USER_ID", "LOGON_TYPE", "COMMAND", "LOG_NAME", "TRIGGER_ENABLED"}
    script = SCRIPT.read_text(encoding="utf-8")
    assert {name for name in placeholders if f'Replace("@{name}@",' not in script} == set()


@pytest.mark.parametrize("source, logon_type, check_command", [
    # The MetaTrader5 package reaches the terminal only from the desktop session the terminal runs in.
    ("mt5", "InteractiveToken", "bars --source mt5 --json"),
    # A bar file needs no session: the task may run while nobody is logged on.
    ("file", "S4U", "bars --json"),
])
def test_logon_type_and_check_task_follow_the_source(source: str, logon_type: str, check_command: str) -> None:
    project = r"C:\bot"
    tasks = {name: _filled(project, r"VPS\trader", source, name) for name in installer_tasks(source)}
    assert set(tasks) == {"TaskName", "checkName"}
    for task in tasks.values():  # the check runs in exactly the scheduled task's context
        principal = task.find("t:Principals/t:Principal", NS)
        assert (principal.find("t:UserId", NS).text, principal.find("t:LogonType", NS).text) == (r"VPS\trader", logon_type)
        assert task.find("t:Actions/t:Exec/t:WorkingDirectory", NS).text == project
    scheduled, check = tasks["TaskName"], tasks["checkName"]
    assert scheduled.find("t:Triggers/t:TimeTrigger/t:Enabled", NS).text == "true"
    assert check.find("t:Triggers/t:TimeTrigger/t:Enabled", NS).text == "false"  # on demand only
    assert check.find("t:Settings/t:AllowStartOnDemand", NS).text == "true"
    assert check.find("t:Actions/t:Exec/t:Arguments", NS).text == (
        f'/d /s /c ""{project}\\.venv\\Scripts\\autotrainer.exe" {check_command} >> "{project}\\logs\\task-check.log" 2>&1"')


def test_installer_chooses_by_source_says_why_and_runs_the_check() -> None:
    script = SCRIPT.read_text(encoding="utf-8")
    assert '[ValidateSet("mt5", "file")][string]$Source = "mt5"' in script  # on Windows, source 'auto' means mt5
    reasons = script[script.index("$reasons = @{"):script.index("\n}\n", script.index("$reasons = @{"))]
    assert re.findall(r'^    "(\w+)" = "', reasons, re.M) == ["mt5", "file"]
    assert 'Write-Host "Logon type $logonType for source \'$Source\': $($reasons[$Source])"' in script
    # Only an S4U task is confined to local disks; an interactive one runs with the user's own network access.
    assert 'if ($logonType -eq "S4U" -and ($ProjectDir.StartsWith("\\\\")' in script
    # The check task is run once right away, and the operator is told how to run it again.
    run = script.index("schtasks /Run /TN $checkName")
    assert script.index("Install-AutotrainerTask $checkName") < run < script.index("$info.LastTaskResult")
    assert "schtasks /Run /TN $checkName, then read $checkLog" in script


def test_installer_checks_the_terminal_before_installing_anything() -> None:
    """`bars --source mt5` refuses several installed terminals while mt5_path is empty; exit 2 stops the installer."""
    script = SCRIPT.read_text(encoding="utf-8")
    preflight = script.index("& $exe bars --source mt5;")
    assert script.index('} elseif ($Source -eq "mt5") {') < preflight < script.index("Install-AutotrainerTask $TaskName")
    assert re.search(r"if \(\$code -eq 2\) \{\s+throw \"[^\"]*set 'mt5_path'[^\"]*nothing was installed\"", script)

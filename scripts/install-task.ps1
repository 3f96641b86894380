# Install (or replace) the Windows Task Scheduler task "autotrainer": `autotrainer check --run` every
# 15 minutes, indefinitely, whether the user is logged on or not, never two instances at once. What the
# command prints outside its log goes to logs\task.log, as cron's logs/cron.log does on Linux.
# Run from an elevated PowerShell (S4U tasks need the right to log on as a batch job):
#   powershell -ExecutionPolicy Bypass -File scripts\install-task.ps1
# Remove it again with:  schtasks /Delete /TN autotrainer /F
param(
    [string]$ProjectDir = (Join-Path $PSScriptRoot ".."),
    [string]$TaskName = "autotrainer"
)
$ErrorActionPreference = "Stop"
# The task needs an absolute file-system path: a relative -ProjectDir or a PowerShell provider path means
# nothing to Task Scheduler.
$ProjectDir = (Resolve-Path -LiteralPath $ProjectDir).ProviderPath
if ($ProjectDir.StartsWith("\\") -or ([System.IO.DriveInfo]($ProjectDir.Substring(0, 1))).DriveType -eq "Network") {
    throw "$ProjectDir is on a network drive: a task that runs while nobody is logged on (S4U) only reaches local disks"
}
if ($ProjectDir.Contains("%")) { throw "$ProjectDir contains '%', which cmd.exe would expand; use another folder" }
$user = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
$exe = Join-Path $ProjectDir ".venv\Scripts\autotrainer.exe"
if (-not (Test-Path -LiteralPath $exe)) { Write-Warning "$exe does not exist yet; install the project first (see README)" }
New-Item -ItemType Directory -Force -Path (Join-Path $ProjectDir "logs") | Out-Null  # cmd's >> needs the folder
$xml = Get-Content -Raw -Encoding UTF8 -LiteralPath (Join-Path $ProjectDir "cron\autotrainer-task.xml")
$xml = $xml.Replace("@PROJECT_DIR@", [System.Security.SecurityElement]::Escape($ProjectDir))
$xml = $xml.Replace("@USER_ID@", [System.Security.SecurityElement]::Escape($user))
$uri = "<URI>\" + [System.Security.SecurityElement]::Escape($TaskName) + "</URI>"
$xml = $xml.Replace('encoding="UTF-8"', 'encoding="UTF-16"').Replace("<URI>\autotrainer</URI>", $uri)
$tmp = Join-Path $env:TEMP "autotrainer-task-$PID.xml"
Set-Content -LiteralPath $tmp -Value $xml -Encoding Unicode  # schtasks reads task XML as UTF-16
try {
    schtasks /Create /TN $TaskName /XML $tmp /F
    if ($LASTEXITCODE -ne 0) { throw "schtasks /Create failed with exit code $LASTEXITCODE" }
} finally {
    Remove-Item -LiteralPath $tmp -ErrorAction SilentlyContinue
}
Write-Host "Installed task '$TaskName' for ${user}: $exe check --run every 15 minutes in $ProjectDir"
Write-Host "Logs: $ProjectDir\logs\autotrainer.log (every run) and $ProjectDir\logs\task.log (anything else the task printed)"
Write-Host "Remove with: schtasks /Delete /TN $TaskName /F"

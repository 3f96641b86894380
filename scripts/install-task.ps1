# Install (or replace) the Windows Task Scheduler task "autotrainer": `autotrainer check --run` every
# 15 minutes, indefinitely, whether the user is logged on or not, never two instances at once.
# Run from an elevated PowerShell (S4U tasks need the right to log on as a batch job):
#   powershell -ExecutionPolicy Bypass -File scripts\install-task.ps1
# Remove it again with:  schtasks /Delete /TN autotrainer /F
param(
    [string]$ProjectDir = (Resolve-Path (Join-Path $PSScriptRoot "..")).Path,
    [string]$TaskName = "autotrainer"
)
$ErrorActionPreference = "Stop"
$user = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
$exe = Join-Path $ProjectDir ".venv\Scripts\autotrainer.exe"
if (-not (Test-Path $exe)) { Write-Warning "$exe does not exist yet; install the project first (see README)" }
$xml = Get-Content -Raw -Encoding UTF8 (Join-Path $ProjectDir "cron\autotrainer-task.xml")
$xml = $xml.Replace("@PROJECT_DIR@", $ProjectDir).Replace("@USER_ID@", $user)
$xml = $xml.Replace('encoding="UTF-8"', 'encoding="UTF-16"').Replace("<URI>\autotrainer</URI>", "<URI>\$TaskName</URI>")
$tmp = Join-Path $env:TEMP "autotrainer-task.xml"
Set-Content -Path $tmp -Value $xml -Encoding Unicode   # schtasks reads task XML as UTF-16
schtasks /Create /TN $TaskName /XML $tmp /F
if ($LASTEXITCODE -ne 0) { throw "schtasks /Create failed with exit code $LASTEXITCODE" }
Remove-Item $tmp
Write-Host "Installed task '$TaskName' for $user: $exe check --run every 15 minutes in $ProjectDir"
Write-Host "Logs: $ProjectDir\logs\autotrainer.log"
Write-Host "Remove with: schtasks /Delete /TN $TaskName /F"

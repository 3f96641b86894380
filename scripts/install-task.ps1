# Install (or replace) two Windows Task Scheduler tasks from cron\autotrainer-task.xml:
#   "autotrainer"        `autotrainer check --run` every 15 minutes, indefinitely, never two instances at once;
#   "autotrainer-check"  on demand only: `autotrainer bars` in the very same context (account, logon type,
#                        folder), to prove that context reads the bars. The installer runs it once and shows it.
# What the commands print outside their log goes to logs\task.log and logs\task-check.log, as cron's
# logs/cron.log does on Linux.
#
# The logon type follows the bar source (-Source):
#   mt5 (default; on Windows `source = "auto"` means the terminal): InteractiveToken, "run only when user is
#        logged on". The MetaTrader5 package talks to a running terminal over Windows IPC, and the terminal runs
#        on your desktop; a task in a non-interactive session (S4U) is not expected to reach it. Keep the
#        account logged on: on a VPS, disconnect the remote desktop instead of signing out. Before anything is
#        installed, `autotrainer bars --source mt5` must work from this session (it refuses to guess between
#        several installed terminals while 'mt5_path' is empty).
#   file (autotrainer.toml points 'source' at a bar file): S4U, "whether the user is logged on or not", no
#        password stored, local disks only; run this from an elevated PowerShell (S4U needs the right to log on
#        as a batch job).
#   powershell -ExecutionPolicy Bypass -File scripts\install-task.ps1 [-Source mt5|file]
# Remove with:  schtasks /Delete /TN autotrainer /F   and   schtasks /Delete /TN autotrainer-check /F
param(
    [string]$ProjectDir = (Join-Path $PSScriptRoot ".."),
    [string]$TaskName = "autotrainer",
    [ValidateSet("mt5", "file")][string]$Source = "mt5"
)
$ErrorActionPreference = "Stop"
$logonTypes = @{ "mt5" = "InteractiveToken"; "file" = "S4U" }
$checkCommands = @{ "mt5" = "bars --source mt5 --json"; "file" = "bars --json" }
$reasons = @{
    "mt5" = "the MetaTrader5 package is expected to reach the terminal only from the desktop session it runs in, so the task runs only while you are logged on (on a VPS: disconnect, do not sign out)";
    "file" = "a bar file needs no desktop session, so the task runs whether you are logged on or not (no password stored, local disks only)"
}
$logonType = $logonTypes[$Source]
$checkName = "$TaskName-check"
# The task needs an absolute file-system path: a relative -ProjectDir or a PowerShell provider path means
# nothing to Task Scheduler.
$ProjectDir = (Resolve-Path -LiteralPath $ProjectDir).ProviderPath
if ($logonType -eq "S4U" -and ($ProjectDir.StartsWith("\\") -or ([System.IO.DriveInfo]($ProjectDir.Substring(0, 1))).DriveType -eq "Network")) {
    throw "$ProjectDir is on a network drive: a task that runs while nobody is logged on (S4U) only reaches local disks"
}
if ($ProjectDir.Contains("%")) { throw "$ProjectDir contains '%', which cmd.exe would expand; use another folder" }
$user = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
$exe = Join-Path $ProjectDir ".venv\Scripts\autotrainer.exe"
if (-not (Test-Path -LiteralPath $exe)) {
    Write-Warning "$exe does not exist yet; install the project first (see README)"
} elseif ($Source -eq "mt5") {
    Write-Host "Checking MetaTrader 5 from this session first: autotrainer bars --source mt5"
    Push-Location -LiteralPath $ProjectDir
    try { & $exe bars --source mt5; $code = $LASTEXITCODE } finally { Pop-Location }
    if ($code -eq 2) {
        throw "autotrainer cannot use MetaTrader 5 (exit 2, reason above; with several terminals installed, set 'mt5_path' to the bot's terminal64.exe); nothing was installed"
    }
    if ($code -eq 4) {
        Write-Warning "the terminal answers but holds too few bars to train (exit 4, above)"
    } elseif ($code -ne 0) {
        throw "autotrainer bars --source mt5 failed with exit code $code; nothing was installed"
    }
}
New-Item -ItemType Directory -Force -Path (Join-Path $ProjectDir "logs") | Out-Null  # cmd's >> needs the folder
$template = Get-Content -Raw -Encoding UTF8 -LiteralPath (Join-Path $ProjectDir "cron\autotrainer-task.xml")

function Install-AutotrainerTask([string]$Name, [string]$Command, [string]$LogName, [string]$TriggerEnabled, [string]$Description) {
    $xml = $template.Replace("@COMMAND@", [System.Security.SecurityElement]::Escape($Command))
    $xml = $xml.Replace("@LOG_NAME@", [System.Security.SecurityElement]::Escape($LogName))
    $xml = $xml.Replace("@TRIGGER_ENABLED@", $TriggerEnabled).Replace("@LOGON_TYPE@", $logonType)
    $xml = $xml.Replace("@DESCRIPTION@", [System.Security.SecurityElement]::Escape($Description))
    $xml = $xml.Replace("@PROJECT_DIR@", [System.Security.SecurityElement]::Escape($ProjectDir))
    $xml = $xml.Replace("@USER_ID@", [System.Security.SecurityElement]::Escape($user))
    $uri = "<URI>\" + [System.Security.SecurityElement]::Escape($Name) + "</URI>"
    $xml = $xml.Replace('encoding="UTF-8"', 'encoding="UTF-16"').Replace("<URI>\autotrainer</URI>", $uri)
    $tmp = Join-Path $env:TEMP "autotrainer-task-$PID.xml"
    Set-Content -LiteralPath $tmp -Value $xml -Encoding Unicode  # schtasks reads task XML as UTF-16
    try {
        schtasks /Create /TN $Name /XML $tmp /F | Out-Host
        if ($LASTEXITCODE -ne 0) { throw "schtasks /Create /TN $Name failed with exit code $LASTEXITCODE" }
    } finally {
        Remove-Item -LiteralPath $tmp -ErrorAction SilentlyContinue
    }
}

Install-AutotrainerTask $TaskName "check --run" "task.log" "true" `
    "Retrain, validate and publish the trading bot's XGBoost and HMM models when due (autotrainer check --run)."
Install-AutotrainerTask $checkName ($checkCommands[$Source]) "task-check.log" "false" `
    "On demand: read the bars as $TaskName would, in its context (autotrainer $($checkCommands[$Source])); output in logs\task-check.log."
Write-Host "Installed task '$TaskName' for ${user}: $exe check --run every 15 minutes in $ProjectDir"
Write-Host "Logon type $logonType for source '$Source': $($reasons[$Source])"

# The check, run once now in the task's own context: what the scheduled runs will see.
$checkLog = Join-Path $ProjectDir "logs\task-check.log"
$seen = if (Test-Path -LiteralPath $checkLog) { @(Get-Content -LiteralPath $checkLog).Count } else { 0 }
$before = (Get-ScheduledTaskInfo -TaskName $checkName).LastRunTime
schtasks /Run /TN $checkName | Out-Host
if ($LASTEXITCODE -ne 0) { throw "schtasks /Run /TN $checkName failed with exit code $LASTEXITCODE" }
$deadline = (Get-Date).AddMinutes(5)
do {
    Start-Sleep -Seconds 2
    $info = Get-ScheduledTaskInfo -TaskName $checkName
    $running = (Get-ScheduledTask -TaskName $checkName).State -eq "Running"
} while (($running -or $info.LastRunTime -eq $before) -and (Get-Date) -lt $deadline)
if (Test-Path -LiteralPath $checkLog) { Get-Content -LiteralPath $checkLog | Select-Object -Skip $seen | Out-Host }
if ($running -or $info.LastRunTime -eq $before) {
    Write-Warning "the check task has not finished within 5 minutes; read $checkLog later"
} elseif ($info.LastTaskResult -eq 0) {
    Write-Host "Check passed: the task's context reads the bars (exit code 0)."
} else {
    Write-Warning "the check task ended with exit code $($info.LastTaskResult) (output above): the scheduled runs would fail the same way"
}
Write-Host "Check again at any time: schtasks /Run /TN $checkName, then read $checkLog"
Write-Host "Logs: $ProjectDir\logs\autotrainer.log (every run) and $ProjectDir\logs\task.log (anything else the task printed)"
Write-Host "Remove with: schtasks /Delete /TN $TaskName /F and schtasks /Delete /TN $checkName /F"

<#
.SYNOPSIS
  Installs buntracker on Windows so it starts at boot, opens the firewall for it, and removes it again.

.DESCRIPTION
  Run from an elevated PowerShell (Run as administrator), in the folder holding the downloaded .exe:

    powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 install [-Listen 6969] [-Binary FILE]
    powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 uninstall [-Purge | -KeepData]
    powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 start | stop | restart | status
    powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 token [-NewToken]
    powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 logs [-Lines N] [-Follow]

  What install does:
  - copies the executable to %ProgramFiles%\buntracker\buntracker.exe (with this script);
  - keeps its data in %ProgramData%\buntracker: state.bin (swarms and completion counts, saved every 5 minutes
    and at a graceful stop), buntracker.log (the log, 10 MiB at most plus buntracker.log.1), trends.jsonl
    (trend history), deny.txt (the deny list, empty
    at first), admin-token (readable by Administrators, SYSTEM and the tracker only) and buntracker.toml (the
    tracker's settings: the one place they are kept; edit it, then run restart);
  - registers the scheduled task "buntracker": it starts at boot, before anyone logs on, as the built-in
    LOCAL SERVICE account (no administrator rights, no profile), with no time limit, and runs
    buntracker.exe --config %ProgramData%\buntracker\buntracker.toml;
  - adds inbound firewall rules (group "buntracker") for TCP and UDP on the chosen port, for this program only;
  - starts it and waits until the port is open.
  Why a scheduled task and not a Windows service: a service must answer the service control manager, which a
  plain console program does not; a task needs no wrapper program. Stopping the task would end the process at
  once (Windows cannot send it Ctrl+C), so stop, restart and upgrades first ask the tracker itself to stop
  (POST /admin/shutdown with the admin token on its admin listener, 127.0.0.1:6970), which saves the swarms to
  state.bin; only a tracker that does not answer or has not exited within 30 seconds is ended.
  Running install again upgrades in place: the tracker is stopped, the executable replaced, and the settings
  (buntracker.toml, checked by the new executable first), token and data kept. A new -Listen replaces the
  listen line in buntracker.toml (and the firewall rules). An install from before buntracker.toml has its
  install.json turned into one.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File .\install-windows.ps1 install -Listen 6969
#>
[CmdletBinding()]
param(
  [Parameter(Position = 0)]
  [ValidateSet('install', 'uninstall', 'start', 'stop', 'restart', 'status', 'token', 'logs')]
  [string]$Action = 'install',
  # The executable to install; default: one next to this script.
  [string]$Binary,
  # HOST:PORT, [IPv6]:PORT, :PORT or just PORT (meaning [::]:PORT, IPv4 and IPv6).
  [string]$Listen,
  # uninstall: also delete %ProgramData%\buntracker without asking.
  [switch]$Purge,
  # uninstall: keep %ProgramData%\buntracker without asking.
  [switch]$KeepData,
  # token: make a new admin token (the old one stops working) and restart.
  [switch]$NewToken,
  # logs: how many of the last lines to show.
  [int]$Lines = 100,
  # logs: keep showing new lines as they come (Ctrl+C ends).
  [switch]$Follow
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$TaskName = 'buntracker'
$FirewallGroup = 'buntracker'
$DefaultListen = '[::]:6969'
# A fresh install's private listener for operators: /metrics, the admin API and the /healthz that checks more.
$DefaultAdminListen = '127.0.0.1:6970'
$ProgramDir = Join-Path $env:ProgramFiles 'buntracker'
$Exe = Join-Path $ProgramDir 'buntracker.exe'
$DataDir = Join-Path $env:ProgramData 'buntracker'
# The tracker's settings (TOML, read with --config): the task names nothing else.
$ConfigFile = Join-Path $DataDir 'buntracker.toml'
# Where installs before buntracker.toml kept the listen addresses (read once, to make buntracker.toml).
$SettingsFile = Join-Path $DataDir 'install.json'
$TokenFile = Join-Path $DataDir 'admin-token'
$DenyFile = Join-Path $DataDir 'deny.txt'
$TrendsFile = Join-Path $DataDir 'trends.jsonl'
$StateFile = Join-Path $DataDir 'state.bin'
$LogFile = Join-Path $DataDir 'buntracker.log'
# The tracker's admin-only listener (loopback), where stop asks it to shut down gracefully.
$AdminAddress = '127.0.0.1:6970'
# Well-known SIDs: names differ between Windows languages, SIDs do not.
$SidLocalService = 'S-1-5-19'
$SidSystem = 'S-1-5-18'
$SidAdministrators = 'S-1-5-32-544'

function Fail([string]$Message) {
  Write-Host "buntracker: $Message" -ForegroundColor Red
  exit 1
}

function Assert-Admin {
  $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
  $principal = New-Object Security.Principal.WindowsPrincipal($identity)
  if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Fail 'run this from an elevated PowerShell (Run as administrator)'
  }
}

function Get-AccountName([string]$Sid) {
  (New-Object Security.Principal.SecurityIdentifier($Sid)).Translate([Security.Principal.NTAccount]).Value
}

# Runs the tracker's own check of its settings (buntracker --check-config ARGS...), which prints the settings in
# force as `key = value` lines. A bad setting stops this script with the tracker's one-line reason, before
# anything is changed.
function Invoke-CheckConfig([string]$Program, [string[]]$Arguments) {
  # Windows PowerShell turns a native program's stderr into errors; 'Stop' would end the script on the first.
  $previous = $ErrorActionPreference
  $ErrorActionPreference = 'Continue'
  try { $output = @(& $Program --check-config @Arguments 2>&1 | ForEach-Object { "$_" }) }
  finally { $ErrorActionPreference = $previous }
  if ($LASTEXITCODE -ne 0) { Fail ((($output -join ' ') -replace '^buntracker: ', '') + ' (nothing was changed)') }
  return $output
}

# The address as the tracker reads it: a bare port or :PORT is [::]:PORT. Port 0 (any free port) is fine for
# the tracker but makes no sense for a task that starts at boot.
function ConvertTo-ListenAddress([string]$Program, [string]$Text) {
  $line = Invoke-CheckConfig $Program @('--listen', $Text) | Where-Object { $_ -match '^listen = "([^"]*)"' } | Select-Object -First 1
  if (-not $line -or $line -notmatch '^listen = "([^"]*)"') { Fail "$Program --check-config did not show the listen address" }
  $address = $Matches[1]
  if ((Get-Port $address) -eq 0) { Fail 'port 0 would be a different port on every start: choose one' }
  return $address
}

function Get-Port([string]$ListenAddress) { [int]($ListenAddress -replace '^.*:', '') }

# install.json of an install from before buntracker.toml, or $null.
function Get-OldSettings {
  if (Test-Path -LiteralPath $SettingsFile) { return Get-Content -LiteralPath $SettingsFile -Raw | ConvertFrom-Json }
  return $null
}

# A setting in force as the tracker reads buntracker.toml (--check-config --config), '' when not set.
function Read-ConfigSetting([string]$Program, [string]$Key) {
  $line = Invoke-CheckConfig $Program @('--config', $ConfigFile) | Where-Object { $_ -match "^$Key = `"([^`"]*)`"" } | Select-Object -First 1
  if (-not $line -or $line -notmatch "^$Key = `"([^`"]*)`"") { return '' }
  return $Matches[1]
}

function Find-Binary {
  if ($Binary) {
    if (-not (Test-Path -LiteralPath $Binary -PathType Leaf)) { Fail "no such file: $Binary" }
    return (Resolve-Path -LiteralPath $Binary).Path
  }
  foreach ($name in 'buntracker-windows-x64.exe', 'buntracker-windows-x64-no-dashboard.exe', 'buntracker.exe') {
    $candidate = Join-Path $PSScriptRoot $name
    if ((Test-Path -LiteralPath $candidate -PathType Leaf) -and ($candidate -ne $Exe)) { return $candidate }
  }
  Fail "no buntracker executable next to this script; give one with -Binary FILE"
}

# The x64 executable needs SSSE3, SSE4.1, SSE4.2 and POPCNT (x86-64-v2, as X64_CPU_FLAGS in
# install-linux.sh); without them it dies at once with an illegal instruction, so the CPU is checked first.
# Windows 10 and later report the first three (PF_SSSE3, PF_SSE4_1, PF_SSE4_2_INSTRUCTIONS_AVAILABLE); every
# CPU with SSE4.2 has POPCNT. Checked only in a native x64 PowerShell: on ARM64 the executable is emulated.
function Assert-Cpu {
  if ($env:PROCESSOR_ARCHITECTURE -ne 'AMD64') { return }
  if (-not ('Buntracker.Cpu' -as [type])) {
    Add-Type -Namespace Buntracker -Name Cpu -MemberDefinition '[DllImport("kernel32.dll")] public static extern bool IsProcessorFeaturePresent(uint feature);'
  }
  $features = [ordered]@{ 'SSSE3' = 36; 'SSE4.1' = 37; 'SSE4.2' = 38 }
  $missing = @($features.Keys | Where-Object { -not [Buntracker.Cpu]::IsProcessorFeaturePresent($features[$_]) })
  if ($missing.Count -gt 0) {
    Fail "this CPU lacks $($missing -join ' '), which buntracker needs (x86-64-v2: Intel Nehalem, AMD Bulldozer or newer); in a virtual machine choose the host CPU type"
  }
}

function Get-TrackerProcesses {
  @(Get-Process -Name 'buntracker' -ErrorAction SilentlyContinue | Where-Object { $_.Path -eq $Exe })
}

# Asks the running tracker to stop as Ctrl+C would: it saves its state file and last trend sample, then exits.
# Needs the admin listener's POST /admin/shutdown; false when it cannot be asked (no token, not listening, an
# older tracker without the endpoint).
function Request-Shutdown {
  if (-not (Test-Path -LiteralPath $TokenFile)) { return $false }
  $token = (Get-Content -LiteralPath $TokenFile -Raw).Trim()
  try {
    Invoke-WebRequest -UseBasicParsing -Method Post -Uri "http://$AdminAddress/admin/shutdown" `
      -Headers @{ Authorization = "Bearer $token" } -TimeoutSec 5 | Out-Null
    return $true
  } catch {
    return $false
  }
}

function Stop-Tracker {
  if ((Get-TrackerProcesses).Count -gt 0) {
    if (Request-Shutdown) {
      # Writing a large state file takes a while.
      $deadline = (Get-Date).AddSeconds(30)
      while ((Get-TrackerProcesses).Count -gt 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
    } else {
      Write-Host ('buntracker: could not ask the tracker to stop; ending it (what changed since its last save, ' +
        'at most 5 minutes ago, is lost)') -ForegroundColor Yellow
    }
  }
  if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
    Stop-ScheduledTask -TaskName $TaskName
  }
  $deadline = (Get-Date).AddSeconds(15)
  while ((Get-TrackerProcesses).Count -gt 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
  Get-TrackerProcesses | Stop-Process -Force
}

# The tracker listens once its state file is loaded, which takes a while for a large one; one that has exited
# (a bad setting, a port in use) is reported without waiting that long.
$StartTimeoutSeconds = 120
function Wait-Listening([int]$Port) {
  $started = Get-Date
  while ((Get-Date) -lt $started.AddSeconds($StartTimeoutSeconds)) {
    if (Get-NetTCPConnection -LocalPort $Port -State Listen -ErrorAction SilentlyContinue) { return $true }
    if ((Get-TrackerProcesses).Count -eq 0 -and (Get-Date) -gt $started.AddSeconds(10)) { return $false }
    Start-Sleep -Milliseconds 250
  }
  return $false
}

function Start-Tracker {
  Start-ScheduledTask -TaskName $TaskName
  $port = Get-Port (Read-ConfigSetting $Exe 'listen')
  if (Wait-Listening $port) {
    Write-Host "buntracker is running on port $port."
  } else {
    Fail "buntracker is not listening on port $port; see: install-windows.ps1 logs"
  }
}

function New-Token {
  $bytes = New-Object byte[] 32
  $rng = [Security.Cryptography.RandomNumberGenerator]::Create()
  $rng.GetBytes($bytes)
  $rng.Dispose()
  $token = -join ($bytes | ForEach-Object { $_.ToString('x2') })
  [IO.File]::WriteAllText($TokenFile, $token)
  # Only Administrators, SYSTEM and the tracker's account may read it.
  & icacls.exe $TokenFile /inheritance:r /grant:r "*${SidAdministrators}:F" "*${SidSystem}:F" "*${SidLocalService}:R" | Out-Null
  if ($LASTEXITCODE -ne 0) { Fail "icacls failed on $TokenFile" }
}

function Set-FirewallRules([int]$Port) {
  Remove-NetFirewallRule -Group $FirewallGroup -ErrorAction SilentlyContinue
  foreach ($protocol in 'TCP', 'UDP') {
    New-NetFirewallRule -DisplayName "buntracker ($protocol $Port)" -Group $FirewallGroup -Direction Inbound `
      -Action Allow -Protocol $protocol -LocalPort $Port -Program $Exe -Profile Any | Out-Null
  }
}

# The settings of a new buntracker.toml, as command-line flags (so that they can be checked as such, and
# ConvertTo-Toml writes them as the file).
function Get-TrackerArguments([string]$ListenAddress, [string]$AdminListen) {
  $arguments = @('--listen', $ListenAddress, '--trends-file', $TrendsFile, '--state-file', $StateFile,
    '--access-mode', 'deny', '--access-list', $DenyFile, '--admin-token-file', $TokenFile, '--log-file', $LogFile)
  if ($AdminListen) { $arguments += @('--admin-listen', $AdminListen) }
  return $arguments
}

# Flags and values (--state-file C:\...) as TOML lines (state_file = 'C:\...'). Literal strings: a Windows path's
# backslashes stay as they are.
function ConvertTo-Toml([string[]]$Arguments) {
  $lines = @('# buntracker settings (the scheduled task runs: buntracker.exe --config THIS-FILE).',
    '# Every option: buntracker.exe --print-config. After an edit: install-windows.ps1 restart.')
  for ($i = 0; $i -lt $Arguments.Count; $i += 2) {
    $value = $Arguments[$i + 1]
    if ($value -match "['\r\n]") { Fail "cannot write $value in $ConfigFile" }
    $lines += ($Arguments[$i].Substring(2).Replace('-', '_') + " = '" + $value + "'")
  }
  return ($lines -join "`r`n") + "`r`n"
}

function Register-TrackerTask {
  $taskAction = New-ScheduledTaskAction -Execute $Exe -Argument ('--config "' + $ConfigFile + '"') -WorkingDirectory $DataDir
  $trigger = New-ScheduledTaskTrigger -AtStartup
  $principal = New-ScheduledTaskPrincipal -UserId (Get-AccountName $SidLocalService) -LogonType ServiceAccount -RunLevel Limited
  $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable `
    -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -MultipleInstances IgnoreNew
  Register-ScheduledTask -TaskName $TaskName -Description 'buntracker BitTorrent tracker (HTTP and UDP)' `
    -Action $taskAction -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
}

function Install-Tracker {
  Assert-Admin
  $source = Find-Binary
  Assert-Cpu
  $version = (& $source --version) -join ''
  # 0xC000001D, STATUS_ILLEGAL_INSTRUCTION: an instruction this CPU does not have.
  if ($LASTEXITCODE -eq -1073741795) { Fail "$source died with an illegal instruction: this CPU is too old for it (see Release builds in README.md)" }
  if ($LASTEXITCODE -ne 0 -or $version -notmatch '^buntracker ') { Fail "$source is not a working buntracker executable" }

  $listenAddress = ''
  $adminListen = ''
  if (Test-Path -LiteralPath $ConfigFile) {
    # Kept as it is (with its owner's edits); only a new -Listen changes its listen line.
    $configText = [IO.File]::ReadAllText($ConfigFile)
    if ($Listen) {
      $listenAddress = ConvertTo-ListenAddress $source $Listen
      $line = "listen = '$listenAddress'"
      if ($configText -match '(?m)^[ \t]*listen[ \t]*=') { $configText = $configText -replace '(?m)^[ \t]*listen[ \t]*=[^\r\n]*', $line }
      else { $configText = $configText.TrimEnd() + "`r`n$line`r`n" }
    }
  } else {
    $settings = Get-OldSettings
    if ($Listen) { $listenAddress = ConvertTo-ListenAddress $source $Listen }
    elseif ($settings) { $listenAddress = $settings.Listen }
    else { $listenAddress = $DefaultListen }
    # The admin listener: on for a fresh install; an install from before it keeps /metrics on the public port,
    # where its scrapes find it ('' in install.json: none).
    if (-not $settings) { $adminListen = $DefaultAdminListen }
    elseif ($settings.PSObject.Properties['AdminListen']) { $adminListen = [string]$settings.AdminListen }
    else { $adminListen = '' }
    $configText = ConvertTo-Toml (Get-TrackerArguments $listenAddress $adminListen)
  }

  # With a token file kept from an earlier install, the new executable checks the settings file the task will
  # read before the running tracker is stopped. (A fresh install makes every file itself.)
  if (Test-Path -LiteralPath $TokenFile) {
    $candidate = Join-Path $DataDir 'buntracker.toml.new'
    [IO.File]::WriteAllText($candidate, $configText)
    try { Invoke-CheckConfig $source @('--config', $candidate) | Out-Null }
    finally { Remove-Item -LiteralPath $candidate -Force -ErrorAction SilentlyContinue }
  } elseif ($adminListen) { Invoke-CheckConfig $source @('--listen', $listenAddress, '--admin-listen', $adminListen) | Out-Null }

  $upgrade = Test-Path -LiteralPath $Exe
  Stop-Tracker
  New-Item -ItemType Directory -Force -Path $ProgramDir, $DataDir | Out-Null
  Copy-Item -LiteralPath $source -Destination $Exe -Force
  if ($PSCommandPath -and ((Split-Path -Parent $PSCommandPath) -ne $ProgramDir)) {
    Copy-Item -LiteralPath $PSCommandPath -Destination (Join-Path $ProgramDir 'install-windows.ps1') -Force
    foreach ($doc in 'README.md', 'LICENSE') {
      $path = Join-Path $PSScriptRoot $doc
      if (Test-Path -LiteralPath $path) { Copy-Item -LiteralPath $path -Destination $ProgramDir -Force }
    }
  }

  # The tracker's account may change what is in its data folder (files made by a double-clicked run too).
  & icacls.exe $DataDir /grant "*${SidLocalService}:(OI)(CI)M" /T /C /Q | Out-Null
  if ($LASTEXITCODE -ne 0) { Fail "icacls failed on $DataDir" }
  if (-not (Test-Path -LiteralPath $TokenFile)) { New-Token }
  if (-not (Test-Path -LiteralPath $DenyFile)) { New-Item -ItemType File -Path $DenyFile | Out-Null }
  # UTF-8 without a byte order mark (what [IO.File] writes), which the tracker reads.
  [IO.File]::WriteAllText($ConfigFile, $configText)
  if (Test-Path -LiteralPath $SettingsFile) { Remove-Item -LiteralPath $SettingsFile -Force }
  $listenAddress = Read-ConfigSetting $Exe 'listen'
  $adminListen = Read-ConfigSetting $Exe 'admin_listen'

  Set-FirewallRules (Get-Port $listenAddress)
  Register-TrackerTask
  if ($upgrade) { Write-Host "Upgraded to $version." } else { Write-Host "Installed $version." }
  Start-Tracker
  $port = Get-Port $listenAddress
  Write-Host "Announce URLs: http://YOUR-HOST:$port/announce  udp://YOUR-HOST:$port/announce  ws://YOUR-HOST:$port/announce"
  # The executable says whether it was built with the dashboard.
  if (Invoke-CheckConfig $Exe @('--listen', $listenAddress) | Where-Object { $_ -like '# built without the dashboard*' }) {
    Write-Host "Dashboard: none in this build (the -no-dashboard one)"
  } else {
    Write-Host "Dashboard: http://localhost:$port/"
  }
  if ($adminListen) {
    Write-Host "Metrics and the admin API: http://$adminListen/ (this machine only). Prometheus scrape_configs entry:"
    Write-Host '  - job_name: buntracker'
    Write-Host '    static_configs:'
    Write-Host ('      - targets: ["' + $adminListen + '"]')
  }
  Write-Host "Admin token: $TokenFile  (or: install-windows.ps1 token)"
}

function Uninstall-Tracker {
  Assert-Admin
  Stop-Tracker
  if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
  }
  Remove-NetFirewallRule -Group $FirewallGroup -ErrorAction SilentlyContinue
  if (Test-Path -LiteralPath $ProgramDir) { Remove-Item -LiteralPath $ProgramDir -Recurse -Force }
  Write-Host "Removed the scheduled task, the firewall rules and $ProgramDir."
  if (-not (Test-Path -LiteralPath $DataDir)) { return }
  if ($Purge) { $answer = 'y' }
  elseif ($KeepData) { $answer = 'n' }
  else { $answer = Read-Host "Also delete the swarm state, log, trend history, deny list and admin token in $DataDir? [y/N]" }
  if ($answer -match '^(y|yes)$') {
    Remove-Item -LiteralPath $DataDir -Recurse -Force
    Write-Host "Deleted $DataDir."
  } else {
    Write-Host "Kept $DataDir (a new install will use it)."
  }
}

function Assert-Installed {
  if (-not (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue)) {
    Fail 'buntracker is not installed (run: install-windows.ps1 install)'
  }
}

switch ($Action) {
  'install' { Install-Tracker }
  'uninstall' { Uninstall-Tracker }
  'start' { Assert-Admin; Assert-Installed; Start-Tracker }
  'stop' { Assert-Admin; Assert-Installed; Stop-Tracker; Write-Host 'buntracker stopped.' }
  'restart' { Assert-Admin; Assert-Installed; Stop-Tracker; Start-Tracker }
  'status' {
    Assert-Installed
    $task = Get-ScheduledTask -TaskName $TaskName
    $info = Get-ScheduledTaskInfo -TaskName $TaskName
    Write-Host "task:        $($task.State) (last run $($info.LastRunTime), result $($info.LastTaskResult))"
    Write-Host "processes:   $((Get-TrackerProcesses).Count)"
    Write-Host "listen:      $(Read-ConfigSetting $Exe 'listen')"
    Write-Host "settings:    $ConfigFile"
    Write-Host "executable:  $Exe"
    Write-Host "data:        $DataDir"
  }
  'token' {
    Assert-Admin
    Assert-Installed
    if ($NewToken) {
      New-Token
      Stop-Tracker
      Start-Tracker
    }
    Get-Content -LiteralPath $TokenFile -Raw
  }
  'logs' {
    if (-not (Test-Path -LiteralPath $LogFile)) { Fail "no log yet ($LogFile)" }
    if ($Follow) { Get-Content -LiteralPath $LogFile -Tail $Lines -Wait }
    else { Get-Content -LiteralPath $LogFile -Tail $Lines }
  }
}

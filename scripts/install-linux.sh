#!/usr/bin/env bash
# buntracker on Linux with systemd: install, upgrade, configure, run and remove the service.
#
#   sudo ./install-linux.sh                      menu (English or Chinese from the locale; switchable)
#   sudo ./install-linux.sh install [--listen ADDR] [--binary FILE] [--no-start] [--dry-run]
#   sudo ./install-linux.sh uninstall [--purge | --keep-data]
#   sudo ./install-linux.sh start | stop | restart | status
#   sudo ./install-linux.sh configure [--listen ADDR] [--interval-secs N] [--peer-timeout-secs N] [--log-level L]
#   sudo ./install-linux.sh token [--new]
#   sudo ./install-linux.sh logs [--follow] [--lines N]
#
# Common options: --lang en|zh, and --root DIR to write every file under DIR instead of / (for tests; systemctl
# and journalctl are still called as usual).
#
# Layout: /opt/buntracker/ (the binary, this script, README, licence), /etc/buntracker/buntracker.env (settings,
# root only, mode 0600), /etc/buntracker/admin-token (root only; systemd hands it to the service as a
# credential), /var/lib/buntracker/ (swarm state, trend history and the deny list, owned by the unprivileged
# user buntracker), /etc/systemd/system/buntracker.service (a hardened unit).
# Re-running install upgrades the binary and the unit in place and keeps the settings, token and data.
# It needs a running systemd; on a host without one (a container, WSL without systemd) it changes nothing.

# Started with "sh install-linux.sh"? This is a bash script.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

NAME=buntracker
SERVICE=buntracker.service
BIN_DIR=/opt/buntracker
BIN=$BIN_DIR/buntracker
CONF_DIR=/etc/buntracker
ENV_FILE=$CONF_DIR/buntracker.env
TOKEN_FILE=$CONF_DIR/admin-token
DATA_DIR=/var/lib/buntracker
# The deny list lives with the data, not in /etc/buntracker: the tracker rewrites it itself (admin API) with a
# temporary file and a rename, which needs write access to its directory, and /etc/buntracker holds the
# root-only settings file (with the token) that the service must not be able to replace.
DENY_FILE=$DATA_DIR/deny.txt
TRENDS_FILE=$DATA_DIR/trends.jsonl
# Swarms and completion counts, saved every few minutes and at stop, so a restart or an upgrade keeps them.
STATE_FILE=$DATA_DIR/state.bin
UNIT_FILE=/etc/systemd/system/$SERVICE
DEFAULT_LISTEN='[::]:6969'
# What the x64 executables need of the CPU beyond x86-64 itself (x86-64-v2 without CMPXCHG16B/LAHF: Intel
# Nehalem, AMD Bulldozer or newer), as /proc/cpuinfo names them. Without any of them the executable dies with
# "Illegal instruction" before its own code runs; scripts/cpu-matrix.ts found the list (README: Downloads).
X64_CPU_FLAGS="ssse3 sse4_1 sse4_2 popcnt"
CPUINFO=${BUNTRACKER_CPUINFO:-/proc/cpuinfo} # another file only in tests
# A fresh install's private listener for operators: /metrics, the admin API and the /healthz that checks more.
DEFAULT_ADMIN_LISTEN=127.0.0.1:6970
# How long start, restart and install wait for the tracker to answer /healthz: loading a large state file
# takes a while.
START_TIMEOUT=120

ROOT=""
UI_LANG=""
CMD=""
OPT_LISTEN=""
OPT_BINARY="${BUNTRACKER_BINARY:-}"
OPT_INTERVAL=""
OPT_TIMEOUT=""
OPT_LOG_LEVEL=""
OPT_DATA=""      # purge | keep (uninstall); empty: ask
OPT_START=1
OPT_DRY_RUN=0
OPT_NEW_TOKEN=0
OPT_FOLLOW=0
OPT_LINES=100

# ---------------------------------------------------------------------------------------------------------
# Messages: every text is given in English and Chinese; t picks one.

t() { if [ "$UI_LANG" = zh ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
say() { printf '%s\n' "$(t "$1" "$2")"; }
warn() { printf '%s: %s\n' "$NAME" "$(t "$1" "$2")" >&2; }
die() { warn "$1" "$2"; exit 1; }

detect_lang() {
  case "${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}" in
    zh*) echo zh ;;
    *) echo en ;;
  esac
}

usage() {
  if [ "$UI_LANG" = zh ]; then
    cat <<'EOF'
用法: install-linux.sh [命令] [选项]      (不带命令时进入菜单)
  install     安装或升级 (--listen 地址, --binary 文件, --no-start, --dry-run 只显示将做的更改)
  uninstall   卸载 (--purge 同时删除配置和数据, --keep-data 保留; 默认询问)
  start | stop | restart | status
  configure   修改设置 (--listen, --interval-secs, --peer-timeout-secs, --log-level; 不带选项则在终端中逐项询问)
  token       显示管理令牌 (--new 生成新令牌并重启)
  logs        查看日志 (--follow, --lines N)
  menu        菜单
选项: --lang en|zh, --root 目录 (测试用)。监听地址可以只写端口, 如 6969 表示 [::]:6969。
EOF
  else
    cat <<'EOF'
Usage: install-linux.sh [command] [options]      (no command: the menu)
  install     install or upgrade (--listen ADDR, --binary FILE, --no-start, --dry-run: only show what would change)
  uninstall   remove (--purge also deletes settings and data, --keep-data keeps them; default: ask)
  start | stop | restart | status
  configure   change settings (--listen, --interval-secs, --peer-timeout-secs, --log-level; none: ask at a terminal)
  token       print the admin token (--new makes a new one and restarts)
  logs        show the log (--follow, --lines N)
  menu        the menu
Options: --lang en|zh, --root DIR (for tests). A listen address may be just a port: 6969 means [::]:6969.
EOF
  fi
}

# ---------------------------------------------------------------------------------------------------------
# Helpers

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0 ${CMD:-})" "需要 root 权限 (试试: sudo $0 ${CMD:-})"
}

need_systemctl() {
  command -v systemctl >/dev/null 2>&1 || die "systemctl not found: this installer needs systemd" "找不到 systemctl: 本安装脚本需要 systemd"
}

# A host may have systemctl without systemd running (a container, WSL without systemd): every systemctl call
# would then fail, after the files were written. Checked before anything is changed.
systemd_running() {
  local state
  state=$(systemctl is-system-running 2>/dev/null) || true
  case "$state" in "" | offline | unknown) return 1 ;; esac
}

no_systemd_help() { # BINARY [LISTEN]
  local run="$1 --listen ${2:-$DEFAULT_LISTEN} --state-file $STATE_FILE --trends-file $TRENDS_FILE"
  warn "systemd is not running on this host (a container, or WSL without systemd), so there is no service to install it as." \
    "此主机上没有运行 systemd (容器, 或未启用 systemd 的 WSL), 无法安装为服务。"
  warn "Instead, run the tracker in the foreground or under your container's supervisor, e.g.: $run" \
    "可以直接运行 (或交给容器的进程管理), 例如: $run"
  warn "On WSL, systemd can be turned on: [boot] systemd=true in /etc/wsl.conf, then wsl --shutdown." \
    "在 WSL 中可以启用 systemd: 在 /etc/wsl.conf 中写入 [boot] systemd=true, 然后执行 wsl --shutdown。"
}

need_systemd() {
  need_systemctl
  systemd_running || { no_systemd_help "$BIN"; die "nothing was changed" "未做任何更改"; }
}

installed() { [ -f "$ROOT$UNIT_FILE" ]; }
need_installed() {
  installed || die "buntracker is not installed (run: $0 install)" "buntracker 尚未安装 (请运行: $0 install)"
}

listen_port() { printf '%s\n' "${1##*:}"; }

check_int() { # VALUE MIN MAX (the installer's own options; the tracker checks its settings itself)
  case "$1" in "" | *[!0-9]*) return 1 ;; esac
  [ "${#1}" -le 7 ] && [ "$((10#$1))" -ge "$2" ] && [ "$((10#$1))" -le "$3" ]
}

# Asks the tracker itself whether its settings are good: BINARY --check-config with the settings file's
# variables (when there is one) and FLAGS... on top, as the service would start. Prints the settings in force
# (`key = value  # source` lines); a bad one: the tracker's own one-line reason, and this script stops before
# changing anything.
check_config() { # BINARY FLAGS...
  local bin=$1 line out vars=() token=()
  shift
  # The token file, as the service gets it (install moves a token left in the settings file into it).
  [ ! -f "$ROOT$TOKEN_FILE" ] || token=(--admin-token-file "$ROOT$TOKEN_FILE")
  if [ -f "$ROOT$ENV_FILE" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in
        BUNTRACKER_ADMIN_TOKEN=*) [ ${#token[@]} -gt 0 ] || vars+=("$line") ;;
        BUNTRACKER_*=*) vars+=("$line") ;;
      esac
    done <"$ROOT$ENV_FILE"
  fi
  if ! out=$(env -i ${vars[@]+"${vars[@]}"} "$bin" --check-config ${token[@]+"${token[@]}"} "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "the settings were not changed" "设置未更改"
  fi
  # Its warnings (a BUNTRACKER_ variable that is no setting: a typo in the file) are passed on.
  sed -n 's/^# warning: /buntracker: warning: /p' <<<"$out" >&2
  printf '%s\n' "$out"
}

# One value from check_config's output, without TOML's quotes: setting KEY <<<"$settings"
setting() { sed -n "s/^$1 = \(.*[^ ]\)  *# .*/\1/p" | sed 's/^"\(.*\)"$/\1/'; }

# Port 0 (any free port) is fine for the tracker but makes no sense for a service.
need_fixed_port() {
  [ "$(listen_port "$1")" != 0 ] || die "port 0 would be a different port on every start: choose one" "端口 0 每次启动都会不同: 请指定一个端口"
}

new_token() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

# The service user's "uid:gid", read from the target system's passwd file.
svc_ids() { awk -F: -v u="$NAME" '$1 == u { print $3 ":" $4; found = 1 } END { exit !found }' "$ROOT/etc/passwd"; }

ensure_user() {
  svc_ids >/dev/null 2>&1 && return 0
  local shell=/usr/sbin/nologin s
  for s in /usr/sbin/nologin /sbin/nologin /bin/false; do
    if [ -x "$ROOT$s" ]; then shell=$s; break; fi
  done
  local root_opt=()
  [ -z "$ROOT" ] || root_opt=(--root "$ROOT")
  useradd ${root_opt[@]+"${root_opt[@]}"} --system --user-group --no-create-home --home-dir "$DATA_DIR" \
    --shell "$shell" --comment "buntracker BitTorrent tracker" "$NAME" \
    || die "cannot create the user $NAME" "无法创建用户 $NAME"
  say "Created the system user $NAME." "已创建系统用户 $NAME。"
}

remove_user() {
  svc_ids >/dev/null 2>&1 || return 0
  local root_opt=()
  [ -z "$ROOT" ] || root_opt=(--root "$ROOT")
  userdel ${root_opt[@]+"${root_opt[@]}"} "$NAME" 2>/dev/null || warn "could not remove the user $NAME" "无法删除用户 $NAME"
  if grep -q "^$NAME:" "$ROOT/etc/group" 2>/dev/null; then
    groupdel ${root_opt[@]+"${root_opt[@]}"} "$NAME" 2>/dev/null || true
  fi
}

env_get() { # KEY: its value in the settings file (the last one wins, as in systemd)
  [ -f "$ROOT$ENV_FILE" ] || return 0
  K="$1" awk 'index($0, ENVIRON["K"] "=") == 1 { v = substr($0, length(ENVIRON["K"]) + 2) } END { print v }' "$ROOT$ENV_FILE"
}

# Replaces the file atomically (temporary file in the same directory, then rename), root-only (0600).
write_env_file() { # CONTENT-PRODUCING COMMAND...
  local tmp
  tmp=$(mktemp "$ROOT$CONF_DIR/.buntracker.env.XXXXXX")
  if ! "$@" >"$tmp"; then rm -f "$tmp"; die "cannot write $ENV_FILE" "无法写入 $ENV_FILE"; fi
  chmod 0600 "$tmp"
  chown 0:0 "$tmp"
  mv -f "$tmp" "$ROOT$ENV_FILE"
}

env_set() { # KEY VALUE: changes the KEY line (the first; later duplicates are dropped) or appends one
  # shellcheck disable=SC2016 # awk's own $0, not the shell's
  K="$1" V="$2" write_env_file awk '
    index($0, ENVIRON["K"] "=") == 1 { if (!done) print ENVIRON["K"] "=" ENVIRON["V"]; done = 1; next }
    { print }
    END { if (!done) print ENVIRON["K"] "=" ENVIRON["V"] }' "$ROOT$ENV_FILE"
}

env_del() { # KEY: drops its lines
  # shellcheck disable=SC2016 # awk's own $0, not the shell's
  K="$1" write_env_file awk 'index($0, ENVIRON["K"] "=") != 1 { print }' "$ROOT$ENV_FILE"
}

new_env_text() { # LISTEN
  cat <<EOF
# buntracker settings, read by systemd when it starts the service (EnvironmentFile). Every option of the
# tracker has a BUNTRACKER_* variable (see: $BIN --help). The admin token is in $TOKEN_FILE.
# After editing: sudo $BIN_DIR/install-linux.sh restart
BUNTRACKER_LISTEN=$1
BUNTRACKER_ADMIN_LISTEN=$DEFAULT_ADMIN_LISTEN
BUNTRACKER_TRENDS_FILE=$TRENDS_FILE
BUNTRACKER_STATE_FILE=$STATE_FILE
BUNTRACKER_ACCESS_MODE=deny
BUNTRACKER_ACCESS_LIST=$DENY_FILE
EOF
}

# systemd 247 and later hand the token to the service as a credential (LoadCredential=): a copy only the
# service can read, and the file itself stays root's. Older ones: the service user reads the file (group).
credentials_supported() {
  local v
  v=$(systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9][0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 247 ]
}

write_token_file() { # TOKEN: atomically, root's (readable by the service's group where credentials are missing)
  local tmp
  tmp=$(mktemp "$ROOT$CONF_DIR/.admin-token.XXXXXX")
  printf '%s\n' "$1" >"$tmp"
  if credentials_supported; then
    chmod 0600 "$tmp"
    chown 0:0 "$tmp"
  else
    chmod 0640 "$tmp"
    chown "0:$(svc_ids | cut -d: -f2)" "$tmp"
  fi
  mv -f "$tmp" "$ROOT$TOKEN_FILE"
}

read_token() { [ ! -f "$ROOT$TOKEN_FILE" ] || tr -d ' \t\r\n' <"$ROOT$TOKEN_FILE"; }

token_unit_lines() {
  if credentials_supported; then
    printf '%s\n' "# The admin token, as a credential: a copy in a directory only the service can read." \
      "LoadCredential=admin-token:$TOKEN_FILE" "ExecStart=$BIN --admin-token-file=\${CREDENTIALS_DIRECTORY}/admin-token"
  else
    printf '%s\n' "ExecStart=$BIN --admin-token-file=$TOKEN_FILE"
  fi
}

unit_text() {
  cat <<EOF
# Written by install-linux.sh; re-running "install-linux.sh install" rewrites it. Local changes belong in
# "systemctl edit $NAME" (a drop-in), which upgrades keep.
[Unit]
Description=buntracker BitTorrent tracker (HTTP and UDP)
Documentation=file:$BIN_DIR/README.md
After=network-online.target
Wants=network-online.target

[Service]
# exec: started once the binary runs; install and start then wait until /healthz answers (loading a large
# state file takes a while). Not notify: the tracker has no way to send systemd's readiness message.
Type=exec
User=$NAME
Group=$NAME
EnvironmentFile=$ENV_FILE
$(token_unit_lines)
# SIGHUP re-reads the access list and the TLS certificate, and reopens a --log-file.
ExecReload=/bin/kill -HUP \$MAINPID
WorkingDirectory=$DATA_DIR
# $DATA_DIR: created and owned for the service, and its only writable path.
StateDirectory=$NAME
StateDirectoryMode=0750
UMask=0077
Restart=on-failure
RestartSec=3
TimeoutStopSec=15
# Every HTTP connection is a file descriptor.
LimitNOFILE=1048576

# Ports below 1024 without running as root.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
# AF_NETLINK: the tracker lists the host's addresses to answer UDP from the address a client used.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native
# Every system call the tracker was seen making (strace of a release build serving HTTP, UDP, the dashboard,
# the admin API, reloads and shutdown) is in @system-service and outside @privileged and @resources. One that
# is not fails with EPERM instead of killing the process.
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
# Not set: MemoryDenyWriteExecute (the JavaScript JIT writes code), PrivateUsers (the capability above would
# then not reach the host's network) and ProcSubset=pid (the runtime reads /proc/sys/vm).

[Install]
WantedBy=multi-user.target
EOF
}

# The binary to install: --binary, $BUNTRACKER_BINARY, or one next to this script (as in the release tarball).
find_binary() {
  if [ -n "$OPT_BINARY" ]; then
    [ -f "$OPT_BINARY" ] || die "no such file: $OPT_BINARY" "文件不存在: $OPT_BINARY"
    printf '%s\n' "$OPT_BINARY"
    return 0
  fi
  local here arch f
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  for f in "$here/$NAME" "$here/$NAME-linux-$arch" "$here/$NAME-linux-$arch-no-dashboard" "$here/../dist/$NAME-linux-$arch"; do
    if [ -f "$f" ]; then printf '%s\n' "$f"; return 0; fi
  done
  die "no buntracker binary next to this script; give one with --binary FILE" \
    "脚本所在目录中找不到 buntracker 程序; 请用 --binary 文件 指定"
}

# Refuses an x86-64 executable on a CPU without X64_CPU_FLAGS, in one line instead of a crash. Other
# executables, and a cpuinfo without a flags line, are left to the --version run.
check_cpu() { # BINARY
  [ "$(od -An -tx1 -N4 "$1" | tr -d ' \n')" = 7f454c46 ] || return 0
  [ "$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')" = 62 ] || return 0 # e_machine EM_X86_64
  local flags f missing=""
  flags=$(awk -F: '$1 ~ /^flags[[:space:]]*$/ { print $2; exit }' "$CPUINFO" 2>/dev/null) || return 0
  [ -n "$flags" ] || return 0
  for f in $X64_CPU_FLAGS; do
    case " $flags " in *" $f "*) ;; *) missing="$missing $f" ;; esac
  done
  [ -z "$missing" ] && return 0
  missing=$(printf '%s' "${missing# }" | tr 'a-z_' 'A-Z.')
  die "this CPU lacks $missing, which buntracker needs (x86-64-v2: Intel Nehalem, AMD Bulldozer or newer); in a virtual machine choose the host CPU type, not qemu64 or kvm64" \
    "此 CPU 缺少 $missing, buntracker 需要它们 (x86-64-v2: Intel Nehalem、AMD Bulldozer 或更新); 虚拟机请选用 host CPU 类型, 而不是 qemu64 或 kvm64"
}

service_active() { systemctl is-active --quiet "$SERVICE"; }

# The installed tracker's settings in force (as check_config prints them); nothing when they cannot be read.
installed_settings() { (check_config "$ROOT$BIN") 2>/dev/null || true; }

# Whether the tracker answers GET /healthz at HOST PORT (over TLS when TLS is 1). Plain HTTP needs nothing but
# bash; TLS needs curl (without it: whether the service is up is all that can be told).
healthz() { # HOST PORT TLS
  if [ "$3" -eq 1 ]; then
    command -v curl >/dev/null 2>&1 || return 0
    local h=$1
    case "$h" in *:*) h="[$h]" ;; esac
    curl -ksf --max-time 2 "https://$h:$2/healthz" >/dev/null 2>&1
    return
  fi
  local status
  # shellcheck disable=SC2016 # the inner script's own $1 and $2
  status=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" >&3
    head -c 12 <&3' _ "$1" "$2" 2>/dev/null) || return 1
  [ "$status" = "HTTP/1.1 200" ]
}

# After a start: waits until the tracker answers /healthz (0), stops running (1: a bad setting, a port in
# use), or START_TIMEOUT seconds pass (2).
wait_healthy() { # SETTINGS
  local listen admin host port tls=0 deadline
  listen=$(setting listen <<<"$1")
  if [ -z "$listen" ]; then # settings unknown: the old way, a second to fail
    sleep 1
    service_active
    return
  fi
  # The admin listener's /healthz, when there is one, also waits for every worker thread and its restored share
  # (the public one only says that the thread that read it serves).
  admin=$(setting admin_listen <<<"$1")
  if [ -n "$admin" ]; then listen=$admin; fi
  port=$(listen_port "$listen")
  host=${listen%:*}
  host=${host#[}
  host=${host%]}
  case "$host" in :: | 0.0.0.0) host=127.0.0.1 ;; esac
  if [ -z "$admin" ] && [ -n "$(setting tls_cert <<<"$1")" ] && [ -z "$(setting tls_listen <<<"$1")" ]; then tls=1; fi
  deadline=$((SECONDS + START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    service_active || return 1
    if healthz "$host" "$port" "$tls"; then return 0; fi
    sleep 0.2
  done
  return 2
}

# Starts or restarts and reports whether the tracker came up and answers.
start_and_report() { # start | restart [SETTINGS]
  local settings=${2:-} rc=0
  [ -n "$settings" ] || settings=$(installed_settings)
  systemctl "$1" "$SERVICE" || die "systemctl $1 failed; see: $0 logs" "systemctl $1 失败; 查看日志: $0 logs"
  wait_healthy "$settings" || rc=$?
  case "$rc" in
    0) say "buntracker is running." "buntracker 正在运行。" ;;
    2)
      warn "buntracker is running but did not answer within $START_TIMEOUT seconds (a large state file?); see: $0 logs" \
        "buntracker 已启动, 但 $START_TIMEOUT 秒内未响应 (状态文件很大?); 查看日志: $0 logs"
      return 1
      ;;
    *)
      warn "buntracker did not stay up; see: $0 logs" "buntracker 未能保持运行; 查看日志: $0 logs"
      return 1
      ;;
  esac
}

# The addresses clients use, from the settings in force, and whether there is a dashboard (the binary says).
show_urls() { # SETTINGS
  local host listen port scheme=http ws=ws udp tls_listen urls
  host=$(t YOUR-HOST 你的主机)
  listen=$(setting listen <<<"$1")
  port=$(listen_port "${listen:-$DEFAULT_LISTEN}")
  tls_listen=$(setting tls_listen <<<"$1")
  if [ -n "$(setting tls_cert <<<"$1")" ] && [ -z "$tls_listen" ]; then scheme=https ws=wss; fi
  urls="$scheme://$host:$port/announce"
  [ -z "$tls_listen" ] || urls="$urls  https://$host:$(listen_port "$tls_listen")/announce"
  udp=$(setting udp_listen <<<"$1")
  [ "$udp" = off ] || urls="$urls  udp://$host:$(listen_port "${udp:-$listen}")/announce"
  [ "$(setting websocket <<<"$1")" = off ] || urls="$urls  $ws://$host:$port/announce"
  say "Announce URLs: $urls" "Announce 地址: $urls"
  if grep -q '^# built with the dashboard' <<<"$1"; then
    say "Dashboard: $scheme://$host:$port/" "仪表盘: $scheme://$host:$port/"
  elif grep -q '^# built without the dashboard' <<<"$1"; then
    say "Dashboard: none in this build (the -no-dashboard one)" "仪表盘: 此版本不含 (-no-dashboard 版本)"
  else
    say "Dashboard: $scheme://$host:$port/  (if this build has it)" "仪表盘: $scheme://$host:$port/  (若此版本包含)"
  fi
}

# With a private admin listener, /metrics is there only: a block to paste under scrape_configs in prometheus.yml.
show_scrape_config() {
  local admin
  admin=$(env_get BUNTRACKER_ADMIN_LISTEN)
  [ -n "$admin" ] || return 0
  say "Metrics and the admin API: http://$admin/ (private). Prometheus scrape_configs entry:" \
    "指标和管理 API: http://$admin/ (仅本机)。Prometheus scrape_configs 配置:"
  printf '  - job_name: buntracker\n    static_configs:\n      - targets: ["%s"]\n' "$admin"
}

# ---------------------------------------------------------------------------------------------------------
# Commands

# One change install makes; with --dry-run, said instead of done.
step() { # EN ZH COMMAND...
  local en=$1 zh=$2
  shift 2
  if [ "$OPT_DRY_RUN" -eq 0 ]; then "$@"; elif [ -n "$en" ]; then say "  - $en" "  - $zh"; fi
}

install_dirs() {
  local ids
  ids=$(svc_ids)
  mkdir -p "$ROOT$BIN_DIR" "$ROOT$CONF_DIR" "$ROOT$DATA_DIR" "$ROOT$(dirname "$UNIT_FILE")"
  chmod 0755 "$ROOT$BIN_DIR" "$ROOT$CONF_DIR"
  chown 0:0 "$ROOT$BIN_DIR" "$ROOT$CONF_DIR"
  chmod 0750 "$ROOT$DATA_DIR"
  chown "$ids" "$ROOT$DATA_DIR"
}

# The binary: copied beside the old one and renamed over it, so a running tracker keeps its file.
install_binary() { # SOURCE
  cp -f "$1" "$ROOT$BIN.new"
  chmod 0755 "$ROOT$BIN.new"
  chown 0:0 "$ROOT$BIN.new"
  mv -f "$ROOT$BIN.new" "$ROOT$BIN"
}

install_docs() { # DIR: this script, README and licence from the release folder
  local f
  install -m 0755 -o 0 -g 0 "${BASH_SOURCE[0]}" "$ROOT$BIN_DIR/install-linux.sh"
  for f in README.md LICENSE; do
    if [ -f "$1/$f" ]; then install -m 0644 -o 0 -g 0 "$1/$f" "$ROOT$BIN_DIR/$f"; fi
  done
}

env_file_mode() { chmod 0600 "$ROOT$ENV_FILE"; chown 0:0 "$ROOT$ENV_FILE"; }

new_deny_file() {
  : >"$ROOT$DENY_FILE"
  chmod 0640 "$ROOT$DENY_FILE"
  chown "$(svc_ids)" "$ROOT$DENY_FILE"
}

install_unit() {
  local tmp
  tmp=$(mktemp "$ROOT$UNIT_FILE.XXXXXX")
  unit_text >"$tmp"
  chmod 0644 "$tmp"
  chown 0:0 "$tmp"
  mv -f "$tmp" "$ROOT$UNIT_FILE"
}

cmd_install() {
  need_root
  need_systemctl
  local src version listen="" upgrade=0 settings here
  src=$(find_binary)
  [ -x "$src" ] || chmod +x "$src" 2>/dev/null || true
  check_cpu "$src"
  local rc=0
  version=$("$src" --version 2>/dev/null) || rc=$?
  # 132: killed by SIGILL, an instruction this CPU does not have.
  [ "$rc" -ne 132 ] || die "$src died with \"Illegal instruction\": this CPU is too old for it (see Downloads in README.md)" \
    "$src 因 \"非法指令\" 退出: 此 CPU 太旧 (见 README.md 的下载一节)"
  [ "$rc" -eq 0 ] || die "cannot run $src (wrong architecture?)" "无法运行 $src (架构不对?)"
  case "$version" in buntracker\ *) ;; *) die "$src is not buntracker" "$src 不是 buntracker" ;; esac
  installed && upgrade=1
  # The new binary checks the settings it will run with (kept ones on upgrade) before anything is changed.
  local fresh=()
  [ -f "$ROOT$ENV_FILE" ] || fresh=(--admin-listen "$DEFAULT_ADMIN_LISTEN")
  if [ -n "$OPT_LISTEN" ]; then
    settings=$(check_config "$src" ${fresh[@]+"${fresh[@]}"} --listen "$OPT_LISTEN")
    listen=$(setting listen <<<"$settings")
    need_fixed_port "$listen"
  else
    settings=$(check_config "$src" ${fresh[@]+"${fresh[@]}"})
  fi
  if ! systemd_running; then
    no_systemd_help "$src" "$listen"
    [ "$OPT_DRY_RUN" -eq 1 ] || die "nothing was changed" "未做任何更改"
  fi

  if [ "$OPT_DRY_RUN" -eq 1 ]; then
    if [ "$upgrade" -eq 1 ]; then
      say "Would upgrade to $version:" "将升级到 $version:"
    else
      say "Would install $version:" "将安装 $version:"
    fi
  fi
  svc_ids >/dev/null 2>&1 || step "create the system user $NAME" "创建系统用户 $NAME" ensure_user
  step "create $BIN_DIR, $CONF_DIR and $DATA_DIR (owned by $NAME, 0750)" "创建 $BIN_DIR, $CONF_DIR 和 $DATA_DIR (属于 $NAME, 0750)" \
    install_dirs
  step "copy $src to $BIN" "复制 $src 到 $BIN" install_binary "$src"
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [ "$here" != "$ROOT$BIN_DIR" ]; then
    step "copy this script, README.md and LICENSE to $BIN_DIR" "复制本脚本, README.md 和 LICENSE 到 $BIN_DIR" install_docs "$here"
  fi

  # Settings: kept on upgrade; a new --listen or a missing state file is filled in, a token left in the
  # settings file (installs before the token file) moves to the token file.
  local token
  token=$(env_get BUNTRACKER_ADMIN_TOKEN)
  if [ -f "$ROOT$ENV_FILE" ]; then
    [ -z "$listen" ] || step "set BUNTRACKER_LISTEN=$listen in $ENV_FILE" "在 $ENV_FILE 中设置 BUNTRACKER_LISTEN=$listen" \
      env_set BUNTRACKER_LISTEN "$listen"
    # Installs from before the state file gain it; one set to another path (or to nothing) is left alone.
    grep -q '^BUNTRACKER_STATE_FILE=' "$ROOT$ENV_FILE" || step "add BUNTRACKER_STATE_FILE=$STATE_FILE to $ENV_FILE" \
      "在 $ENV_FILE 中添加 BUNTRACKER_STATE_FILE=$STATE_FILE" env_set BUNTRACKER_STATE_FILE "$STATE_FILE"
    if [ -n "$token" ]; then
      step "move the admin token from $ENV_FILE to $TOKEN_FILE" "将管理令牌从 $ENV_FILE 移到 $TOKEN_FILE" write_token_file "$token"
      step "" "" env_del BUNTRACKER_ADMIN_TOKEN
    fi
    step "" "" env_file_mode
    [ "$OPT_DRY_RUN" -eq 1 ] || say "Kept the settings in $ENV_FILE." "保留了 $ENV_FILE 中的设置。"
  else
    step "write $ENV_FILE (listen ${listen:-$(setting listen <<<"$settings")}, state, trends, deny list)" \
      "写入 $ENV_FILE (监听地址 ${listen:-$(setting listen <<<"$settings")}, 状态, 趋势, 黑名单)" \
      write_env_file new_env_text "${listen:-$(setting listen <<<"$settings")}"
    [ "$OPT_DRY_RUN" -eq 1 ] || say "Wrote $ENV_FILE." "已写入 $ENV_FILE。"
  fi
  if [ -z "$token" ] && [ -z "$(read_token)" ]; then
    step "write a new admin token to $TOKEN_FILE" "生成新的管理令牌并写入 $TOKEN_FILE" write_token_file "$(new_token)"
    [ "$OPT_DRY_RUN" -eq 1 ] || say "Wrote a new admin token to $TOKEN_FILE." "已生成新的管理令牌: $TOKEN_FILE。"
  fi
  [ -e "$ROOT$DENY_FILE" ] || step "create an empty deny list $DENY_FILE" "创建空的黑名单 $DENY_FILE" new_deny_file

  if [ "$OPT_DRY_RUN" -eq 1 ]; then
    if [ ! -f "$ROOT$UNIT_FILE" ]; then
      say "  - write the unit $UNIT_FILE" "  - 写入 unit 文件 $UNIT_FILE"
    elif ! unit_text | cmp -s - "$ROOT$UNIT_FILE"; then
      say "  - rewrite the unit $UNIT_FILE:" "  - 改写 unit 文件 $UNIT_FILE:"
      unit_text | diff -u --label "$UNIT_FILE" --label "$UNIT_FILE (new)" "$ROOT$UNIT_FILE" - | sed 's/^/      /' || true
    fi
    local run="systemctl daemon-reload; systemctl enable $SERVICE"
    [ "$OPT_START" -eq 0 ] || run="$run; systemctl restart $SERVICE"
    say "  - run: $run" "  - 运行: $run"
    say "Nothing was changed (--dry-run)." "未做任何更改 (--dry-run)。"
    return 0
  fi
  install_unit

  systemctl daemon-reload
  systemctl enable "$SERVICE" >/dev/null 2>&1 || systemctl enable "$SERVICE"
  if [ "$upgrade" -eq 1 ]; then
    say "Upgraded to $version." "已升级到 $version。"
  else
    say "Installed $version." "已安装 $version。"
  fi
  if [ "$OPT_START" -eq 1 ]; then
    start_and_report restart "$settings" || return 1
  fi
  show_urls "$settings"
  show_scrape_config
  say "Admin token: sudo $BIN_DIR/install-linux.sh token" "管理令牌: sudo $BIN_DIR/install-linux.sh token"
}

cmd_uninstall() {
  need_root
  # Without a running systemd (what an older installer left behind in a container) the files still go.
  local systemd=0
  if command -v systemctl >/dev/null 2>&1 && systemd_running; then systemd=1; fi
  if installed && [ "$systemd" -eq 1 ]; then
    systemctl disable --now "$SERVICE" >/dev/null 2>&1 || systemctl stop "$SERVICE" 2>/dev/null || true
  fi
  rm -f "$ROOT$UNIT_FILE"
  [ "$systemd" -eq 0 ] || systemctl daemon-reload || true
  rm -rf -- "$ROOT$BIN_DIR"
  say "Removed the service and $BIN_DIR." "已删除服务和 $BIN_DIR。"

  if [ ! -e "$ROOT$CONF_DIR" ] && [ ! -e "$ROOT$DATA_DIR" ]; then
    remove_user
    return 0
  fi
  local answer=""
  case "$OPT_DATA" in
    purge) answer=y ;;
    keep) answer=n ;;
    *)
      printf '%s' "$(t "Also delete the settings, admin token, deny list and trend history ($CONF_DIR, $DATA_DIR)? [y/N] " \
        "同时删除设置、管理令牌、黑名单和趋势数据 ($CONF_DIR, $DATA_DIR) 吗? [y/N] ")"
      read -r answer || answer=""
      ;;
  esac
  case "$answer" in
    y | Y | yes | YES | 是)
      rm -rf -- "$ROOT$CONF_DIR" "$ROOT$DATA_DIR"
      remove_user
      say "Deleted the settings and data." "已删除设置和数据。"
      ;;
    *)
      say "Kept $CONF_DIR and $DATA_DIR (a new install will use them)." "已保留 $CONF_DIR 和 $DATA_DIR (重新安装时会继续使用)。"
      ;;
  esac
}

cmd_start() { need_root; need_installed; need_systemd; start_and_report start; }
cmd_restart() { need_root; need_installed; need_systemd; start_and_report restart; }
cmd_stop() {
  need_root
  need_installed
  need_systemd
  systemctl stop "$SERVICE"
  say "buntracker stopped." "buntracker 已停止。"
}

cmd_status() {
  need_root
  need_installed
  need_systemd
  systemctl --no-pager status "$SERVICE" || true
  local token entries size
  token=$(read_token)
  entries=0
  [ ! -f "$ROOT$DENY_FILE" ] || entries=$(grep -cE '^[[:space:]]*[0-9A-Fa-f]{40}' "$ROOT$DENY_FILE" || true)
  size=0
  [ ! -f "$ROOT$TRENDS_FILE" ] || size=$(wc -c <"$ROOT$TRENDS_FILE" | tr -d ' ')
  echo
  say "listen:       $(env_get BUNTRACKER_LISTEN)" "监听地址:     $(env_get BUNTRACKER_LISTEN)"
  say "admin token:  ${token:0:4}… (full: $0 token)" "管理令牌:     ${token:0:4}… (完整: $0 token)"
  say "deny list:    $DENY_FILE ($entries entries)" "黑名单:       $DENY_FILE ($entries 条)"
  say "trends:       $TRENDS_FILE ($size bytes)" "趋势数据:     $TRENDS_FILE ($size 字节)"
  say "settings:     $ENV_FILE" "设置文件:     $ENV_FILE"
}

ask() { # PROMPT-EN PROMPT-ZH CURRENT: reads a line; empty keeps CURRENT
  local answer
  printf '%s [%s]: ' "$(t "$1" "$2")" "$3" >&2
  read -r answer || answer=""
  printf '%s\n' "${answer:-$3}"
}

cmd_configure() {
  need_root
  need_installed
  [ -f "$ROOT$ENV_FILE" ] || die "no settings file $ENV_FILE: run install again" "没有设置文件 $ENV_FILE: 请重新运行 install"
  local listen interval timeout level
  if [ -z "$OPT_LISTEN$OPT_INTERVAL$OPT_TIMEOUT$OPT_LOG_LEVEL" ]; then
    # Without a terminal nobody answers: every value would be kept and the service restarted for nothing.
    local opts="--listen, --interval-secs, --peer-timeout-secs, --log-level"
    [ -t 0 ] || die "configure without options asks at a terminal, and there is none: give the values as options ($opts)" \
      "configure 不带选项时需要在终端中询问, 但当前没有终端: 请用选项给出 ($opts)"
    listen=$(ask "Listen address (a port alone means [::]:PORT)" "监听地址 (只写端口表示 [::]:端口)" "$(env_get BUNTRACKER_LISTEN)")
    interval=$(ask "Announce interval, seconds" "汇报间隔 (秒)" "$(env_get BUNTRACKER_INTERVAL_SECS)")
    timeout=$(ask "Peer timeout, seconds" "节点超时 (秒)" "$(env_get BUNTRACKER_PEER_TIMEOUT_SECS)")
    level=$(ask "Log level (error, warn, info, debug)" "日志级别 (error, warn, info, debug)" "$(env_get BUNTRACKER_LOG_LEVEL)")
  else
    listen=$OPT_LISTEN interval=$OPT_INTERVAL timeout=$OPT_TIMEOUT level=$OPT_LOG_LEVEL
  fi
  # The tracker checks everything first (with the other settings in the file), then this writes, so a bad
  # value changes nothing. The values written are the tracker's reading of them ("6969" is "[::]:6969").
  local flags=() settings
  [ -z "$listen" ] || flags+=(--listen "$listen")
  [ -z "$interval" ] || flags+=(--interval-secs "$interval")
  [ -z "$timeout" ] || flags+=(--peer-timeout-secs "$timeout")
  [ -z "$level" ] || flags+=(--log-level "$level")
  settings=$(check_config "$ROOT$BIN" ${flags[@]+"${flags[@]}"})
  if [ -n "$listen" ]; then
    listen=$(setting listen <<<"$settings")
    need_fixed_port "$listen"
  fi
  [ -z "$interval" ] || interval=$(setting interval_secs <<<"$settings")
  [ -z "$timeout" ] || timeout=$(setting peer_timeout_secs <<<"$settings")
  [ -z "$listen" ] || env_set BUNTRACKER_LISTEN "$listen"
  [ -z "$interval" ] || env_set BUNTRACKER_INTERVAL_SECS "$interval"
  [ -z "$timeout" ] || env_set BUNTRACKER_PEER_TIMEOUT_SECS "$timeout"
  [ -z "$level" ] || env_set BUNTRACKER_LOG_LEVEL "$level"
  say "Saved $ENV_FILE." "已保存 $ENV_FILE。"
  if service_active; then start_and_report restart; fi
}

cmd_token() {
  need_root
  need_installed
  if [ "$OPT_NEW_TOKEN" -eq 1 ]; then
    write_token_file "$(new_token)"
    say "A new admin token is set; the old one no longer works." "已生成新的管理令牌; 旧令牌失效。" >&2
    if service_active; then start_and_report restart >&2; fi
  fi
  local token
  token=$(read_token)
  [ -n "$token" ] || die "no admin token in $TOKEN_FILE (run: $0 token --new)" "$TOKEN_FILE 中没有管理令牌 (请运行: $0 token --new)"
  printf '%s\n' "$token"
}

cmd_logs() {
  need_root
  if [ "$OPT_FOLLOW" -eq 1 ]; then
    journalctl --unit "$SERVICE" --lines "$OPT_LINES" --follow
  else
    journalctl --unit "$SERVICE" --lines "$OPT_LINES" --no-pager
  fi
}

menu() {
  need_root
  local choice
  while true; do
    echo
    if installed; then
      if service_active; then say "buntracker: installed, running" "buntracker: 已安装, 运行中"; else say "buntracker: installed, stopped" "buntracker: 已安装, 未运行"; fi
    else
      say "buntracker: not installed" "buntracker: 未安装"
    fi
    say " 1) Install or upgrade" " 1) 安装或升级"
    say " 2) Uninstall" " 2) 卸载"
    say " 3) Start" " 3) 启动"
    say " 4) Stop" " 4) 停止"
    say " 5) Restart" " 5) 重启"
    say " 6) Status" " 6) 状态"
    say " 7) Configure" " 7) 修改设置"
    say " 8) Show the admin token" " 8) 显示管理令牌"
    say " 9) Logs" " 9) 查看日志"
    say " L) 中文" " L) English"
    say " 0) Exit" " 0) 退出"
    printf '%s' "$(t "Choice: " "请选择: ")"
    read -r choice || { echo; return 0; }
    # Each action runs in a subshell: an error returns to the menu instead of ending it.
    case "$choice" in
      1)
        if ! installed && [ -z "$OPT_LISTEN" ]; then
          OPT_LISTEN=$(ask "Listen address (a port alone means [::]:PORT)" "监听地址 (只写端口表示 [::]:端口)" "$DEFAULT_LISTEN")
        fi
        (cmd_install) || true
        ;;
      2) (cmd_uninstall) || true ;;
      3) (cmd_start) || true ;;
      4) (cmd_stop) || true ;;
      5) (cmd_restart) || true ;;
      6) (cmd_status) || true ;;
      7) (cmd_configure) || true ;;
      8) (cmd_token) || true ;;
      9) (cmd_logs) || true ;;
      l | L) if [ "$UI_LANG" = zh ]; then UI_LANG=en; else UI_LANG=zh; fi ;;
      0 | q | Q) return 0 ;;
      *) say "Unknown choice: $choice" "无效选项: $choice" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------------------
# Command line

main() {
  UI_LANG=$(detect_lang)
  while [ $# -gt 0 ]; do
    local arg=$1 value=""
    shift
    case "$arg" in
      --*=*) value=${arg#*=}; arg=${arg%%=*}; set -- "$value" "$@" ;;
    esac
    case "$arg" in
      --listen | --binary | --interval-secs | --peer-timeout-secs | --log-level | --lang | --root | --lines)
        [ $# -gt 0 ] || die "$arg needs a value" "$arg 需要一个值"
        value=$1
        shift
        case "$arg" in
          --listen) OPT_LISTEN=$value ;;
          --binary) OPT_BINARY=$value ;;
          --interval-secs) OPT_INTERVAL=$value ;;
          --peer-timeout-secs) OPT_TIMEOUT=$value ;;
          --log-level) OPT_LOG_LEVEL=$value ;;
          --lines) check_int "$value" 1 1000000 || die "--lines needs a number" "--lines 需要一个数字"; OPT_LINES=$value ;;
          --lang) case "$value" in en | zh) UI_LANG=$value ;; *) die "--lang is en or zh" "--lang 只能是 en 或 zh" ;; esac ;;
          --root)
            [ -d "$value" ] || die "no such directory: $value" "目录不存在: $value"
            ROOT=$(cd "$value" && pwd)
            [ "$ROOT" != / ] || ROOT=""
            ;;
        esac
        ;;
      --purge) OPT_DATA=purge ;;
      --keep-data) OPT_DATA=keep ;;
      --no-start) OPT_START=0 ;;
      --dry-run) OPT_DRY_RUN=1 ;;
      --new) OPT_NEW_TOKEN=1 ;;
      --follow | -f) OPT_FOLLOW=1 ;;
      -h | --help | help) usage; exit 0 ;;
      -*) usage >&2; die "unknown option $arg" "未知选项 $arg" ;;
      *)
        [ -z "$CMD" ] || { usage >&2; die "one command at a time ($CMD, $arg)" "一次只能执行一个命令 ($CMD, $arg)"; }
        CMD=$arg
        ;;
    esac
  done
  if [ -z "$CMD" ]; then
    if [ -t 0 ]; then CMD=menu; else usage >&2; exit 2; fi
  fi
  if [ "$OPT_DRY_RUN" -eq 1 ] && [ "$CMD" != install ]; then
    die "--dry-run is for install only" "--dry-run 只适用于 install"
  fi
  case "$CMD" in
    install) cmd_install ;;
    uninstall) cmd_uninstall ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_restart ;;
    status) cmd_status ;;
    configure) cmd_configure ;;
    token) cmd_token ;;
    logs) cmd_logs ;;
    menu) menu ;;
    *) usage >&2; die "unknown command $CMD" "未知命令 $CMD" ;;
  esac
}

main "$@"

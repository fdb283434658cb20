#!/usr/bin/env bash
# A throwaway Ceph RADOS Gateway (S3) on 127.0.0.1 for the integration tests and benchmarks: one monitor,
# one OSD (memstore: data in RAM by default), radosgw with the beast frontend. No systemd, no docker, no cephx.
# Everything (config, data, logs, sockets, PIDs) lives under $RGW_DIR, which `start` wipes.
#
# Usage:
#   scripts/rgw.sh start     start it (about 3 s); says so and exits 0 when it is already running
#   scripts/rgw.sh stop      stop exactly the processes `start` recorded in $RGW_DIR/pids [--purge: also rm $RGW_DIR]
#   scripts/rgw.sh env       print `export S3_ENDPOINT=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=...`
#                            for a running gateway: eval "$(scripts/rgw.sh env)"
#   scripts/rgw.sh status    exit 0 when running and answering HTTP, 1 otherwise
#
# Needs Debian's Ceph packages (Debian 12: Ceph 16.2 "pacific", ~61 MB download):
#   apt-get update && apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw
#
# Environment (all optional):
#   RGW_DIR                  default ${TMPDIR:-/tmp}/nunjucks-s3-rgw.<uid>
#   RGW_PORT                 S3 endpoint port, default 7480 (Ceph's usual RGW port)
#   RGW_MON_PORT             monitor msgr2 port, default 7400 (msgr1 uses RGW_MON_PORT+1)
#   RGW_OSD_PORT_MIN/MAX     range the OSD binds its 8 ports in, default 7410-7459
#   RGW_STORE                memstore (default) or bluestore (4 GiB sparse file under RGW_DIR)
#   RGW_ACCESS_KEY/RGW_SECRET_KEY   the S3 user's keys, default test / testsecret (a throwaway local gateway)
#   RGW_STOP_GRACE           seconds between SIGTERM and SIGKILL on stop, default 3
# Every address is 127.0.0.1: nothing listens on another interface.
set -euo pipefail

BASE=${RGW_DIR:-${TMPDIR:-/tmp}/nunjucks-s3-rgw.$(id -u)}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${RGW_MON_PORT:-7400}
MON_PORT1=$((MON_PORT + 1))
OSD_PORT_MIN=${RGW_OSD_PORT_MIN:-7410}
OSD_PORT_MAX=${RGW_OSD_PORT_MAX:-7459}
STORE=${RGW_STORE:-memstore}
ACCESS=${RGW_ACCESS_KEY:-test}
SECRET=${RGW_SECRET_KEY:-testsecret}
CONF=$BASE/ceph.conf
PIDS=$BASE/pids
# Written into RGW_DIR so that `start` only ever wipes a directory this script made.
MARKER=.nunjucks-s3-rgw
APT_LINE='apt-get update && apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw'

T0=$(date +%s%N)
log() {
  local ms=$((($(date +%s%N) - T0) / 1000000))
  printf 'rgw: [%d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"
}
die() {
  echo "rgw: $*" >&2
  [ -d "$BASE/out" ] && echo "rgw: logs in $BASE/out; clean up with: $0 stop" >&2
  exit 1
}
uuid() { if command -v uuidgen >/dev/null; then uuidgen; else cat /proc/sys/kernel/random/uuid; fi; }

# Any HTTP answer from the gateway counts (an anonymous GET / answers 200 with an empty bucket list).
http_up() {
  if command -v curl >/dev/null; then
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT") 2>/dev/null
  fi
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A PID counts as ours only while it is alive and its command line names our config file: a stale pids
# file must never make `stop` kill an unrelated process that reused the number.
ours() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONF"
}
all_alive() {
  [ -f "$PIDS" ] || return 1
  local pid name n=0
  while read -r pid name; do
    ours "$pid" || return 1
    n=$((n + 1))
  done <"$PIDS"
  [ "$n" -ge 3 ]
}
running() { all_alive && [ -f "$BASE/s3.env" ] && http_up; }

cmd_stop() {
  local grace=${RGW_STOP_GRACE:-3}
  if [ ! -f "$PIDS" ]; then
    echo "rgw: not running (no $PIDS)"
  else
    # Reverse start order: rgw, osd, mon.
    tac "$PIDS" | while read -r pid name; do
      if ours "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 $((grace * 10))); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
          # radosgw can take ~5 s to shut down; its data is throwaway anyway.
          kill -KILL "$pid" 2>/dev/null || true
          echo "rgw: stopped $name ($pid, SIGKILL after ${grace}s)"
        else
          echo "rgw: stopped $name ($pid)"
        fi
      else
        echo "rgw: $name ($pid) already gone"
      fi
    done
    rm -f "$PIDS"
  fi
  if [ "${1:-}" = "--purge" ] && [ -f "$BASE/$MARKER" ]; then
    rm -rf "$BASE"
    echo "rgw: purged $BASE"
  fi
}

cmd_env() {
  if ! { [ -f "$BASE/s3.env" ] && all_alive; }; then
    echo "rgw: not running (start it with: $0 start)" >&2
    exit 1
  fi
  # shellcheck disable=SC1091
  . "$BASE/s3.env"
  printf "export S3_ENDPOINT='%s' AWS_ACCESS_KEY_ID='%s' AWS_SECRET_ACCESS_KEY='%s' AWS_REGION='%s'\n" \
    "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION"
}

cmd_status() {
  if running; then
    echo "rgw: running on http://127.0.0.1:$RGW_PORT (dir $BASE)"
  else
    echo "rgw: not running (dir $BASE)"
    return 1
  fi
}

cmd_start() {
  local missing=()
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
    command -v "$b" >/dev/null || missing+=("$b")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "rgw: missing ${missing[*]}; install Debian's Ceph packages first:" >&2
    echo "  $APT_LINE" >&2
    exit 1
  fi
  if running; then
    echo "rgw: already running on http://127.0.0.1:$RGW_PORT (dir $BASE); nothing to do"
    return 0
  fi
  if [ -f "$PIDS" ]; then
    echo "rgw: found a half-dead gateway in $BASE; stopping what is left of it"
    cmd_stop
  fi
  for p in "$RGW_PORT" "$MON_PORT" "$MON_PORT1"; do
    port_busy "$p" && die "port 127.0.0.1:$p is already in use (set RGW_PORT / RGW_MON_PORT to free ports)"
  done
  if [ -d "$BASE" ] && [ -n "$(ls -A "$BASE")" ] && [ ! -f "$BASE/$MARKER" ]; then
    die "refusing to wipe $BASE: it is not empty and was not made by this script (set RGW_DIR)"
  fi

  rm -rf "$BASE"
  mkdir -p "$BASE"/{mon.a,osd0,out,run,crash,rgw.a}
  : >"$BASE/$MARKER"
  local fsid
  fsid=$(uuid)

  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT1]
mon initial members = a
public network = 127.0.0.0/8
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
# throwaway cluster: no cephx
auth cluster required = none
auth service required = none
auth client required = none
# radosgw's built-in defaults force ms_mon_client_mode=secure (meant for cephx); with auth=none that leaves
# no usable mode and rgw loops on "send_auth_request get_initial_auth_request returned -13"
ms mon client mode = crc secure
keyring = $BASE/keyring
run dir = $BASE/run
crash dir = $BASE/crash
log file = $BASE/out/\$name.log
admin socket = $BASE/run/\$name.asok
log to stderr = false
err to stderr = true
# one OSD: size-1 pools, few PGs, no autoscaler (no mgr: RGW does not need one)
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
mon allow pool delete = true
# single mon: commit paxos proposals at once (the default 1 s batching makes every pool create and the OSD
# boot wait ~1 s each: a cold start takes 13 s instead of 3 s)
paxos propose interval = 0.05
paxos min wait = 0.01
osd failsafe full ratio = .99
mon osd full ratio = .99
mon osd nearfull ratio = .98
mon osd backfillfull ratio = .985

[mon]
mon data = $BASE/mon.\$id

[osd]
osd data = $BASE/osd\$id
osd objectstore = $STORE
osd journal = $BASE/osd\$id/journal
osd journal size = 100
memstore device bytes = 4294967296
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mount = false
osd max object name len = 460
osd max object namespace len = 64
osd class load list = *
osd class default list = *

[client]
log file = $BASE/out/\$name.log

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = localhost
rgw data = $BASE/rgw.a
rgw thread pool size = 128
debug rgw = 0/0
debug ms = 0/0
EOF

  # Detached (own session, no stdin), so the caller's shell or job control cannot take the daemons down.
  launch() {
    local name=$1
    shift
    setsid "$@" </dev/null >"$BASE/out/$name.stdout" 2>&1 &
    echo "$! $name" >>"$PIDS"
  }
  alive() { ours "$(awk -v n="$1" '$2==n{print $1}' "$PIDS")"; }

  # --- monitor
  ceph-authtool --create-keyring "$BASE/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$BASE/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT1]" "$BASE/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$BASE/monmap" --keyring "$BASE/keyring" \
    >"$BASE/out/mon-mkfs.log" 2>&1 || die "ceph-mon --mkfs failed: $(tail -3 "$BASE/out/mon-mkfs.log")"
  launch mon.a ceph-mon -c "$CONF" -i a -f
  local ok=0
  for _ in $(seq 1 100); do
    ceph -c "$CONF" --connect-timeout 2 mon stat >/dev/null 2>&1 && {
      ok=1
      break
    }
    alive mon.a || die "ceph-mon died: $(tail -3 "$BASE/out/mon.a.stdout")"
    sleep 0.2
  done
  [ $ok = 1 ] || die "the monitor does not answer"
  log "monitor up"

  # --- OSD
  local osd_uuid osd_id
  osd_uuid=$(uuid)
  osd_id=$(ceph -c "$CONF" osd new "$osd_uuid")
  ceph-osd -c "$CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$BASE/out/osd-mkfs.log" 2>&1 ||
    die "ceph-osd --mkfs failed: $(grep -i error "$BASE/out/osd-mkfs.log" | tail -2)"
  launch "osd.$osd_id" ceph-osd -c "$CONF" -i "$osd_id" -f
  ok=0
  for _ in $(seq 1 300); do
    ceph -c "$CONF" osd dump 2>/dev/null | grep -q "^osd.$osd_id up" && {
      ok=1
      break
    }
    alive "osd.$osd_id" || die "ceph-osd died: $(tail -3 "$BASE/out/osd.$osd_id.stdout")"
    sleep 0.2
  done
  [ $ok = 1 ] || die "the OSD did not come up"
  log "osd.$osd_id up ($STORE)"

  # --- gateway
  launch rgw.a radosgw -c "$CONF" -n client.rgw.a -f
  ok=0
  for _ in $(seq 1 600); do
    http_up && {
      ok=1
      break
    }
    alive rgw.a || die "radosgw died: $(tail -3 "$BASE/out/rgw.a.stdout")"
    sleep 0.1
  done
  [ $ok = 1 ] || die "radosgw does not answer on 127.0.0.1:$RGW_PORT"
  log "radosgw answering on 127.0.0.1:$RGW_PORT"

  radosgw-admin -c "$CONF" -n client.admin user create --uid=test --display-name=test \
    --access-key="$ACCESS" --secret="$SECRET" >"$BASE/out/user.json" 2>"$BASE/out/user.stderr" ||
    die "radosgw-admin user create failed: $(tail -3 "$BASE/out/user.stderr")"
  cat >"$BASE/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$ACCESS
AWS_SECRET_ACCESS_KEY=$SECRET
AWS_REGION=us-east-1
EOF
  log "ready: S3 endpoint http://127.0.0.1:$RGW_PORT (credentials: $0 env)"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
env) cmd_env ;;
status) cmd_status ;;
*)
  echo "usage: $0 start|stop [--purge]|env|status   (a throwaway Ceph RGW on 127.0.0.1:$RGW_PORT)" >&2
  exit 2
  ;;
esac

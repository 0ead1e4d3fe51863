#!/usr/bin/env bash
# Network faults between a real `ship --follow` and a real intake: two network namespaces
# joined by a veth pair (10.77.0.1 intake, 10.77.0.2 ship; the addresses exist only inside
# them), `tc netem` delay, loss, reordering and duplication on the link, and the link taken
# down and up, while a writer appends lines to the followed file. At the end every line must
# be in the intake's JSONL output, in order; duplicates (re-sent unacknowledged batches) are
# counted. Exits 0 when all arrived, 1 on any loss, 2 on a setup error.
#
# Skips (exit 0, with the reason) when not root, without `ip netns`, or without netem in the
# kernel (sch_netem); --allow-no-netem then runs the link down/up faults alone.
#
# Usage: scripts/netns-faults.sh [--lines N] [--rate LINES_PER_S] [--long-outage SECS]
#                               [--allow-no-netem]
#   STATEFUL_LOGS_BIN   the binary (default target/release/stateful-logs, else target/debug/;
#                       build it first: cargo build --release -p stateful-logs-cli)
#   SHIP_ARGS           more ship options, e.g. SHIP_ARGS="--compression zstd"
#   KEEP=1              keep the work folder (printed) for a look afterwards
set -euo pipefail

LINES=200000
RATE=2000
LONG_OUTAGE=40
ALLOW_NO_NETEM=0
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) LINES="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --long-outage) LONG_OUTAGE="$2"; shift 2 ;;
        --allow-no-netem) ALLOW_NO_NETEM=1; shift ;;
        *) echo "unknown argument $1 (see the usage at the top of $0)" >&2; exit 2 ;;
    esac
done

skip() { echo "netns-faults: SKIPPED: $*"; exit 0; }
fail() { echo "netns-faults: ERROR: $*" >&2; exit 2; }

cd "$(dirname "$0")/.."
DEFAULT_BIN=target/release/stateful-logs
[ -x "$DEFAULT_BIN" ] || DEFAULT_BIN=target/debug/stateful-logs
BIN="$(realpath -m "${STATEFUL_LOGS_BIN:-$DEFAULT_BIN}")"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tc): run it with sudo"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v tc >/dev/null || skip "no tc command (iproute2)"
[ -x "$BIN" ] || fail "no binary at $BIN: cargo build --release -p stateful-logs-cli, or set STATEFUL_LOGS_BIN"

NS_I="slf-intake-$$"
NS_S="slf-ship-$$"
DEV_I="slfi$$"
DEV_S="slfs$$"
WORK="$(mktemp -d /tmp/netns-faults.XXXXXX)"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS_I" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS_I" 2>/dev/null || skip "ip netns add does not work here (no network namespaces)"
ip netns add "$NS_S" || fail "cannot create a second namespace"
ip link add "$DEV_I" netns "$NS_I" type veth peer name "$DEV_S" netns "$NS_S" || fail "cannot create a veth pair"
ip -n "$NS_I" addr add 10.77.0.1/24 dev "$DEV_I"
ip -n "$NS_S" addr add 10.77.0.2/24 dev "$DEV_S"
for ns in "$NS_I" "$NS_S"; do ip -n "$ns" link set lo up; done
ip -n "$NS_I" link set "$DEV_I" up
ip -n "$NS_S" link set "$DEV_S" up

NETEM=1
if ! tc -n "$NS_S" qdisc add dev "$DEV_S" root netem delay 1ms 2>/dev/null; then
    NETEM=0
    [ "$ALLOW_NO_NETEM" = 1 ] || skip "tc netem is unavailable (kernel module sch_netem); --allow-no-netem runs the link down/up faults alone"
    echo "netns-faults: tc netem is unavailable: link down/up faults only (--allow-no-netem)"
fi

# netem on both ends: each direction (batches, acks) gets the faults.
netem() {
    [ "$NETEM" = 1 ] || return 0
    echo "  $(date +%T) netem $*"
    tc -n "$NS_S" qdisc replace dev "$DEV_S" root netem "$@"
    tc -n "$NS_I" qdisc replace dev "$DEV_I" root netem "$@"
}
link() {
    echo "  $(date +%T) link $1"
    ip -n "$NS_S" link set "$DEV_S" "$1"
}

LOG="$WORK/app.log"
STATE="$WORK/state.json"
OUT="$WORK/out.jsonl"
: >"$LOG"

ip netns exec "$NS_I" "$BIN" intake --listen 10.77.0.1:4317 --api-key netns-key --stats-interval 0 \
    --output "$OUT" >"$WORK/intake.stdout" 2>"$WORK/intake.stderr" &
PIDS+=($!)
INTAKE=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/intake.stdout" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$WORK/intake.stdout" || fail "the intake did not start: $(cat "$WORK/intake.stderr")"

ip netns exec "$NS_S" env DD_API_KEY=netns-key "$BIN" ship --follow --input "$LOG" --state-file "$STATE" \
    --batch-size 100 --endpoint http://10.77.0.1:4317 ${SHIP_ARGS:-} >"$WORK/ship.stdout" 2>"$WORK/ship.stderr" &
PIDS+=($!)
SHIP=$!

# The writer: LINES fixed-width numbered lines, RATE per second, in chunks of a tenth of that.
CHUNK=$(( RATE / 10 > 0 ? RATE / 10 : 1 ))
(
    i=0
    while [ "$i" -lt "$LINES" ]; do
        awk -v from="$i" -v to="$(( i + CHUNK < LINES ? i + CHUNK : LINES ))" \
            'BEGIN { for (n = from; n < to; n++) printf "line %08d of a log under network faults, user%02d did thing %09d\n", n, n % 17, n * 7 }' \
            >>"$LOG"
        i=$(( i + CHUNK ))
        sleep 0.1
    done
) &
PIDS+=($!)
WRITER=$!

START=$(date +%s.%N)
echo "netns-faults: $LINES lines at $RATE/s, intake 10.77.0.1 ($NS_I), ship 10.77.0.2 ($NS_S)"
echo "netns-faults: binary $BIN, built $(date -r "$BIN" '+%F %T')"
SECONDS_TOTAL=$(( LINES / RATE ))
# Seven fault phases of STEP seconds, plus the outages, spread over the writer's run.
STEP=$(( (SECONDS_TOTAL - 15 - LONG_OUTAGE) / 7 ))
[ "$STEP" -ge 1 ] || STEP=1
netem delay 40ms 20ms distribution normal;           sleep "$STEP"
netem delay 10ms loss 5%;                            sleep "$STEP"
netem delay 30ms reorder 25% 50%;                    sleep "$STEP"
link down; sleep 3; link up;                         sleep "$STEP"
netem delay 80ms 40ms loss 2% duplicate 1%;          sleep "$STEP"
link down; sleep 12; link up;                        sleep "$STEP"
# Longer than the client's keepalive (30 s + 5 s): the client gives the connection up and
# connects again once the link is back (its backoff may have grown to half a minute by then).
link down; sleep "$LONG_OUTAGE"; link up;            sleep "$STEP"
netem delay 5ms loss 20%;                            sleep "$STEP"
netem delay 1ms
wait "$WRITER"

# Done when the state file holds the file's whole length (every line acknowledged).
SIZE=$(stat -c %s "$LOG")
DEADLINE=$(( $(date +%s) + 180 ))
until grep -q "\"offset\":$SIZE[,}]" "$STATE" 2>/dev/null; do
    kill -0 "$SHIP" 2>/dev/null || fail "ship exited early: $(tail -5 "$WORK/ship.stderr")"
    [ "$(date +%s)" -lt "$DEADLINE" ] || { echo "netns-faults: not all acknowledged within 180 s after the writer ended"; break; }
    sleep 0.2
done
END=$(date +%s.%N)
# SIGTERM stops both cleanly (docs/cli.md): ship drains and exits 0 when everything it sent
# was acknowledged, the intake answers what it holds and exits 0.
kill -TERM "$SHIP" 2>/dev/null || true
SHIP_CODE=0; wait "$SHIP" 2>/dev/null || SHIP_CODE=$?
kill -TERM "$INTAKE" 2>/dev/null || true
INTAKE_CODE=0; wait "$INTAKE" 2>/dev/null || INTAKE_CODE=$?
echo "netns-faults: stopped by SIGTERM: ship exited $SHIP_CODE, the intake $INTAKE_CODE (0 and 0 expected)"
echo "netns-faults: $(grep -h -e '^stopped by' "$WORK/ship.stderr" | tail -1)"
echo "netns-faults: $(grep -h -e '^intake: stopped' "$WORK/intake.stderr" | tail -1)"

# Every line in order; a re-sent line (below the next expected) is a duplicate; a jump
# forward is a loss.
grep -o '"content":"line [0-9]\{8\}' "$OUT" | cut -c17-24 | awk -v total="$LINES" -v secs="$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }')" '
    { i = $1 + 0
      if (i == nx) nx++
      else if (i < nx) dup++
      else { lost += i - nx; if (!first_gap) first_gap = nx " before " i; nx = i + 1 } }
    END { lost += total - nx
          printf "netns-faults: %d lines, %d received, lost %d, duplicates %d, %s s\n", total, NR, lost, dup, secs
          if (lost > 0) { print "netns-faults: FAILED: lines lost (first gap: " first_gap ")"; exit 1 } }'

#!/bin/sh
# bench-pskc.sh compares `mfactl tokens convert` with python-pskc's pskc2csv on the workload
# of its performance target (docs/performance.md): 100,000 TOTP keys, plaintext and AES-128-CBC with HMAC-SHA1, timed
# and measured (peak RSS) with /usr/bin/time -v on the same machine in the same run, and
# checks that both write the same rows.
#
# Needs GNU time and pskc2csv:  apt-get update && apt-get install -y time pskc-utils python3-pskc
#
# Environment:
#   BENCH_DIR  where files and results go (default: bench/pskc in the repository, git-ignored)
#   RUNS       runs of mfactl per case, the median is reported (default 3)
#   PY_RUNS    runs of pskc2csv per case (default 1: each takes about half a minute or more)
set -eu

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-bench/pskc}
RUNS=${RUNS:-3}
PY_RUNS=${PY_RUNS:-1}
GO=${GO:-go}
TIME=/usr/bin/time

for tool in "$TIME" pskc2csv; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench-pskc: $tool not found; install with: apt-get update && apt-get install -y time pskc-utils python3-pskc" >&2
		exit 1
	fi
done
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

echo "bench-pskc: building mfactl" >&2
CGO_ENABLED=0 "$GO" build -o "$BENCH_DIR/mfactl" ./cmd/mfactl

if [ ! -s "$BENCH_DIR/totp-100k-plain.pskc" ] || [ ! -s "$BENCH_DIR/totp-100k-aes128cbc.pskc" ]; then
	echo "bench-pskc: generating the 100,000-key files" >&2
	PSKC_BENCH_DIR="$BENCH_DIR" "$GO" test -count=1 -run '^TestWriteBenchFiles$' ./internal/pskc >/dev/null
fi
# The pre-shared key of the encrypted file (internal/pskc/bench_test.go), as vendors send it: hex.
printf '30313233343536373839616263646566\n' >"$BENCH_DIR/psk.hex"
chmod 600 "$BENCH_DIR/psk.hex"

# measure LABEL CMD...: runs CMD under time -v; appends "label wall_s cpu_s rss_kb" to results.
measure() {
	label=$1
	shift
	log="$BENCH_DIR/time-$label.log"
	"$TIME" -v "$@" 2>"$log" >/dev/null || {
		echo "bench-pskc: $label failed:" >&2
		cat "$log" >&2
		exit 1
	}
	awk -v label="$label" -F': ' '
		/Elapsed \(wall clock\)/ {
			n = split($2, p, ":"); wall = 0
			for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
		}
		/User time/ { cpu += $2 }
		/System time/ { cpu += $2 }
		/Maximum resident set size/ { rss = $2 }
		END { printf "%s %.2f %.2f %d\n", label, wall, cpu, rss }' "$log" >>"$BENCH_DIR/results"
}

# median FIELD LABEL: the median of a results column over the runs of LABEL.
median() {
	grep "^$2 " "$BENCH_DIR/results" | awk -v f="$1" '{print $f}' | sort -n |
		awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

: >"$BENCH_DIR/results"
echo "bench-pskc: load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" >&2
status=0
for c in plain aes128cbc; do
	file="$BENCH_DIR/totp-100k-$c.pskc"
	mf_key=""
	py_key=""
	if [ "$c" = aes128cbc ]; then
		mf_key="--pskc-key-file $BENCH_DIR/psk.hex"
		py_key="-s 30313233343536373839616263646566"
	fi
	i=0
	while [ $i -lt "$RUNS" ]; do
		# shellcheck disable=SC2086 # mf_key is two words or none
		measure "mfactl-$c" "$BENCH_DIR/mfactl" tokens convert -q $mf_key --out "$BENCH_DIR/mfactl-$c.csv" "$file"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt "$PY_RUNS" ]; do
		# shellcheck disable=SC2086 # py_key is two words or none
		measure "pskc2csv-$c" pskc2csv $py_key -e base32 \
			-c 'userid:upn,serial:serial number,secret:secret key,time_interval:time interval,manufacturer,model' \
			-o "$BENCH_DIR/pskc2csv-$c.csv" "$file"
		i=$((i + 1))
	done
	# Python's csv module ends lines with CRLF; the rows must be otherwise identical.
	if tr -d '\r' <"$BENCH_DIR/pskc2csv-$c.csv" | cmp -s - "$BENCH_DIR/mfactl-$c.csv"; then
		eval "same_$c=yes"
	else
		eval "same_$c=NO"
		status=1
	fi
	eval "rows_$c=$(($(wc -l <"$BENCH_DIR/mfactl-$c.csv") - 1))"
done
echo "bench-pskc: load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)" >&2

echo
echo "| file (100,000 TOTP keys) | tool | wall s | CPU s (user+sys) | peak RSS MiB | speed-up (wall) | rows identical |"
echo "|---|---|---:|---:|---:|---:|---|"
for c in plain aes128cbc; do
	name="plaintext ($(($(wc -c <"$BENCH_DIR/totp-100k-$c.pskc") / 1000000)) MB)"
	[ "$c" = aes128cbc ] && name="AES-128-CBC + HMAC-SHA1 ($(($(wc -c <"$BENCH_DIR/totp-100k-$c.pskc") / 1000000)) MB)"
	py_wall=$(median 2 "pskc2csv-$c")
	for tool in pskc2csv mfactl; do
		wall=$(median 2 "$tool-$c")
		cpu=$(median 3 "$tool-$c")
		rss=$(median 4 "$tool-$c" | awk '{printf "%.0f", $1 / 1024}')
		speed=$(awk -v a="$py_wall" -v b="$wall" 'BEGIN {printf "%.1f×", a / b}')
		eval "same=\$same_$c"
		eval "rows=\$rows_$c"
		echo "| $name | $tool | $wall | $cpu | $rss | $speed | $same ($rows rows) |"
	done
done
echo
echo "mfactl: median of $RUNS runs; pskc2csv: median of $PY_RUNS. Targets (docs/performance.md): speed-up >= 20x, peak RSS <= 64 MiB."
exit $status

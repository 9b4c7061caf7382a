# measure.sh: the one `measure` of the benchmark scripts (scripts/bench-import.sh,
# scripts/bench-import-pg.sh, internal/store/testdata/bench-import.sh). Source it, do not run it.
#
# measure [--prepare FN] NAME CMD...
#   runs CMD $repeat times under GNU time (/usr/bin/time) and appends "NAME wall_s cpu_s
#   maxrss_mib" of the fastest run (by wall time) to $work/results; cpu_s is user + system.
#   FN, when given, runs before each run, untimed and in the calling shell (so it may set
#   variables, such as a new database to load). CMD's output goes to $work/NAME.out and
#   $work/NAME.err; when CMD fails, its errors are shown and the script stops.
#
# Needs, set by the caller: work (a scratch folder) and repeat (runs per measurement).

measure() {
	local prepare=""
	if [ "$1" = "--prepare" ]; then
		prepare=$2
		shift 2
	fi
	local name=$1
	shift
	local best="" wall user sys rss
	for _ in $(seq "$repeat"); do
		if [ -n "$prepare" ]; then
			"$prepare"
		fi
		/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
			echo "${0##*/}: $name failed:" >&2
			cat "$work/$name.err" >&2
			exit 1
		}
		read -r wall user sys rss <"$work/time"
		if [ -z "$best" ] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then
			best="$wall $(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}') $(awk -v r="$rss" 'BEGIN{printf "%.1f", r/1024}')"
		fi
	done
	echo "$name $best" >>"$work/results"
}

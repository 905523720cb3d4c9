#!/usr/bin/env bash
# Tests scripts/fetch-public-captures without the internet: serves a mirror
# laid out as OWNER/REPO/COMMIT/PATH on 127.0.0.1, built from a local copy of
# the captures, and checks that all of them are downloaded and verified, that
# files already present are skipped, and that a wrong or missing file fails
# the run and is not kept.
#
#   tests/fetch-public-captures.sh [CAPTURES_DIR]
#   (default: $DNSENTRY_PUBLIC_CAPTURES, else ../shared/pcaps)
#
# Not part of `cargo test`: it needs the captures it mirrors.
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-${DNSENTRY_PUBLIC_CAPTURES:-../shared/pcaps}}"
[ -d "$src" ] || { echo "$src: no captures to mirror" >&2; exit 2; }
manifest=tests/public-captures/MANIFEST.tsv
fetch="$PWD/scripts/fetch-public-captures"

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mirror="$work/mirror"
total=0
while IFS=$'\t' read -r name repo commit path _; do
  mkdir -p "$mirror/$repo/$commit/$(dirname "$path")"
  cp "$src/$name" "$mirror/$repo/$commit/$path"
  total=$((total + 1))
done < <(grep -v '^#' "$manifest")
# Suricata's EVE schema, beside the captures as the tests expect it.
schema_src="$src/../schemas/suricata-eve.schema.json"
[ -f "$schema_src" ] || { echo "$schema_src: no schema to mirror" >&2; exit 2; }
mkdir -p "$mirror/OISF/suricata/398687d5d4a98c5a641dd77165766fd7732276e7/etc"
cp "$schema_src" "$mirror/OISF/suricata/398687d5d4a98c5a641dd77165766fd7732276e7/etc/schema.json"
total=$((total + 1))

python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$mirror" >"$work/server.log" 2>&1 &
server=$!
port=""
for _ in $(seq 50); do
  port="$(sed -n 's/.*127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$work/server.log")"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log" >&2; echo "mirror did not start" >&2; exit 1; }
export DNSENTRY_CAPTURES_BASE_URL="http://127.0.0.1:$port"

fail() { echo "FAIL: $*" >&2; exit 1; }
dest="$work/dest"

# 1. Everything downloaded, byte-identical, and the export line printed.
out="$("$fetch" "$dest" 2>"$work/err")" || { cat "$work/err" >&2; fail "first fetch exited non-zero"; }
[ "$out" = "export DNSENTRY_PUBLIC_CAPTURES=$dest" ] || fail "unexpected stdout: $out"
grep -q "$((total - 1)) captures and the EVE schema: $total downloaded, 0 already present, 0 failed" "$work/err" || fail "first fetch: $(cat "$work/err")"
cmp -s "$schema_src" "$work/schemas/suricata-eve.schema.json" || fail "the schema differs from the original"
n=0
while IFS=$'\t' read -r name _; do
  cmp -s "$src/$name" "$dest/$name" || fail "$name differs from the original"
  n=$((n + 1))
done < <(grep -v '^#' "$manifest")
echo "ok: $n captures downloaded and identical"

# 2. A second run downloads nothing.
"$fetch" "$dest" >/dev/null 2>"$work/err" || fail "second fetch exited non-zero"
grep -q "0 downloaded, $total already present, 0 failed" "$work/err" || fail "second fetch: $(cat "$work/err")"
echo "ok: second run skips all $total"

# 3. A capture changed on the server is rejected and not kept.
victim="$(grep -v '^#' "$manifest" | head -1)"
IFS=$'\t' read -r vname vrepo vcommit vpath _ <<<"$victim"
printf 'x' >>"$mirror/$vrepo/$vcommit/$vpath"
rm "$dest/$vname"
if "$fetch" "$dest" >"$work/out" 2>"$work/err"; then fail "fetch of a corrupted capture succeeded"; fi
grep -q "$vname: .*SHA-256 .*manifest says" "$work/err" || fail "no hash mismatch reported: $(cat "$work/err")"
[ ! -e "$dest/$vname" ] || fail "corrupted $vname was kept"
! ls -A "$dest" | grep -q '\.part$' || fail "a partial file was left behind"
! grep -q '^export' "$work/out" || fail "export line printed after a failure"
echo "ok: corrupted $vname rejected"

# 4. A wrong local copy is replaced by the right one.
cp "$src/$vname" "$mirror/$vrepo/$vcommit/$vpath"
printf 'x' >"$dest/$vname"
"$fetch" "$dest" >/dev/null 2>"$work/err" || fail "repairing fetch exited non-zero: $(cat "$work/err")"
cmp -s "$src/$vname" "$dest/$vname" || fail "$vname not repaired"
grep -q "1 downloaded, $((total - 1)) already present, 0 failed" "$work/err" || fail "repair: $(cat "$work/err")"
echo "ok: wrong local $vname downloaded again"

# 5. A capture missing on the server fails the run.
rm "$mirror/$vrepo/$vcommit/$vpath" "$dest/$vname"
if "$fetch" "$dest" >/dev/null 2>"$work/err"; then fail "fetch with a missing capture succeeded"; fi
grep -q "$vname: .*404" "$work/err" || fail "no 404 reported: $(cat "$work/err")"
echo "ok: missing $vname reported"
echo "PASS"

#!/usr/bin/env bash
# scripts/check-layers fails when it should: on a copy of src/ it passes, and
# with violations planted (a base file including a core header, a core file
# including OpenSSL) it exits non-zero and names each planted file.
#   tests/check-layers-selftest.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
check=$root/scripts/check-layers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
    echo "layers.selftest: $*" >&2
    failed=1
}

cp -R "$root/src" "$tmp/src"
rc=0
out=$("$check" "$tmp/src" 2>&1) || rc=$?
[ "$rc" = 0 ] || fail "an unmodified copy of src/ fails (exit $rc): $out"

# Both violations in one run (the script takes seconds): each must be named.
printf '#include "core/txn.h"\n' >"$tmp/src/base/planted.c"
printf '#include <openssl/hmac.h>\n' >"$tmp/src/core/planted.c"
rc=0
out=$("$check" "$tmp/src" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "the planted violations passed; they should fail"
for rel in base/planted.c core/planted.c; do
    grep -qF "$rel:" <<<"$out" || fail "$rel not named: $out"
done

[ "$failed" = 0 ] && echo "layers.selftest: check-layers passes src/ and catches both planted violations"
exit "$failed"

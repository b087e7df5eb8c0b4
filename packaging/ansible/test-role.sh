#!/usr/bin/env bash
# Tests the example Ansible role (packaging/ansible/roles/jitsudo) as an
# admin runs it, with ansible-core from PyPI against localhost (connection
# local): the first run installs the package, the drop-in and reloads the
# daemon; the second changes nothing; check mode shows the entitlement
# changes and writes nothing; an invalid template is refused and the
# policy in force is unchanged. Run as root; tests/run.sh calls it:
#
#     ./packaging/ansible/test-role.sh [path/to/jitsudo_<version>_<arch>.deb]
#
# (default: builds it with packaging/build-deb.sh). Like test-deb.sh, it
# runs on a copy-on-write overlay of this machine (packaging/lib/overlay.sh):
# the machine's own jitsudo and the test suite's daemons are untouched.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[[ $(id -u) == 0 ]] || { echo "test-role.sh: run as root" >&2; exit 1; }
venv=${JITSUDO_CLIENTS_VENV:-/opt/jitsudo-tests-venv}
[[ -x $venv/bin/ansible-playbook ]] ||
    { echo "test-role.sh: no ansible-playbook in $venv (tests/run.sh installs it)" >&2; exit 1; }

deb=${1:-}
if [[ -z $deb ]]; then
    deb=$("$repo/packaging/build-deb.sh" | tail -n 1)
fi
deb=$(realpath "$deb")

# shellcheck source=../lib/overlay.sh
source "$repo/packaging/lib/overlay.sh"
overlay_reexec "$0" "$deb"

root=$(overlay_root)
cp "$deb" "$root/tmp/jitsudo.deb"
cp -r "$here" "$root/tmp/ansible"

chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    VENV="$venv" /bin/bash -s <<'INSIDE'
set -euo pipefail
fail() { echo "test-role.sh: FAIL: $*" >&2; exit 1; }
pass() { echo "test-role.sh: ok: $*"; }
cd /tmp/ansible
export ANSIBLE_ROLES_PATH=/tmp/ansible/roles ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
dropin=/etc/jitsudo/policy.d/50-ansible.toml

# play VARS_FILE [ARGS...]: runs the role with these variables; its output.
play() {
    local vars=$1
    shift
    "$VENV/bin/ansible-playbook" -i localhost, tests/site.yml \
        -e jitsudo_deb=/tmp/jitsudo.deb -e "@$vars" "$@" 2>&1
}
# changed OUTPUT: the play recap's changed count.
changed() { sed -n 's/.* changed=\([0-9]*\).*/\1/p' <<<"$1" | tail -n 1; }
policy_hash() { jitsudoctl status --format json | sed -n 's/.*"policy_hash": *"\([0-9a-f]*\)".*/\1/p'; }

cat >/tmp/one.yml <<'VARS'
jitsudo_rules:
  - id: ansible-admin-id
    who: [jt_admin]
    commands: [/usr/bin/id]
    auth: none
VARS
cat >/tmp/two.yml <<'VARS'
jitsudo_rules:
  - id: ansible-admin-id
    who: [jt_admin]
    commands: [/usr/bin/id]
    auth: none
  - id: ansible-team-uptime
    who: ["%jt_team"]
    commands: [/usr/bin/uptime]
    auth: none
VARS
cat >/tmp/bad.yml <<'VARS'
jitsudo_rules:
  - id: ansible-admin-id
    who: [jt_admin]
    comands: [/usr/bin/id]
VARS

# 1. First run: package, daemon, drop-in, reload.
out=$(play /tmp/one.yml) || fail "first run: $out"
[[ $(changed "$out") -gt 0 ]] || fail "first run changed nothing: $out"
grep -q 'RUNNING HANDLER \[jitsudo : Reload the jitsudo policy\]' <<<"$out" || fail "no reload: $out"
[[ -x /usr/sbin/jitsudod && -S /run/jitsudo/jitsudod.sock ]] || fail "package not installed or daemon not running"
grep -q '^id = "ansible-admin-id"$' "$dropin" || fail "drop-in: $(cat "$dropin")"
status=$(jitsudoctl status)
grep -qx "  $dropin" <<<"$status" || fail "the daemon does not read the drop-in: $status"
grep -q 'last reload: .* in force' <<<"$status" || fail "the reload did not take: $status"
pass "first run installs the package and the drop-in and reloads"

# 2. Second run: nothing to do.
out=$(play /tmp/one.yml) || fail "second run: $out"
[[ $(changed "$out") == 0 ]] || fail "second run is not idempotent: $out"
pass "second run changes nothing"

# 3. Check mode: the entitlement change is shown, nothing is written.
before=$(sha256sum "$dropin")
in_force=$(policy_hash)
out=$(play /tmp/two.yml --check) || fail "check mode: $out"
grep -q '+ %jt_team may run `/usr/bin/uptime` as root' <<<"$out" || fail "check mode shows no diff: $out"
[[ $(sha256sum "$dropin") == "$before" && $(policy_hash) == "$in_force" ]] || fail "check mode wrote the drop-in"
pass "check mode shows the entitlement diff and writes nothing"

# 4. An invalid template: refused by validate, the policy in force unchanged.
if out=$(play /tmp/bad.yml); then fail "an invalid drop-in was accepted: $out"; fi
grep -q 'unknown field `comands`' <<<"$out" || fail "the refusal does not say why: $out"
[[ $(sha256sum "$dropin") == "$before" && $(policy_hash) == "$in_force" ]] || fail "the refused template changed the policy"
pass "an invalid template is refused, the running policy unchanged"
INSIDE
echo "test-role.sh: all Ansible role tests passed"

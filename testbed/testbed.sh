#!/usr/bin/env bash
# The local testbed for humans.
#
#   testbed/testbed.sh up [--auth cognito|dex] [--domain D] [--namespaces a,b]
#                         [--cluster NAME] [--region R] [--lb-delay-ms N] [--acm-wait S]
#                         [--external-dns [--external-dns-owner ID]]
#                         [--token-issuer]   (Dex for machine tokens; its client in the state file)
#       installs what is missing (scripts/setup-testbed.sh), starts the
#       supervisor in the background and waits until the testbed is ready.
#   testbed/testbed.sh down     stops the supervisor and every process it started
#   testbed/testbed.sh status   running or not; logs, URLs, load balancers
#   testbed/testbed.sh env      export lines for the product (eval "$(testbed/testbed.sh env)")
#
# State: .testbed/state.json (git-ignored); supervisor output: .testbed/supervisor.log;
# program logs: .testbed/logs/<timestamp>/.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
STATE="$ROOT/.testbed/state.json"
SUPERVISOR_LOG="$ROOT/.testbed/supervisor.log"

say() { printf '[testbed] %s\n' "$*" >&2; }

# Prints a field of the state file (dotted path), or nothing.
state_get() {
  [[ -f "$STATE" ]] || return 0
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let v = s; for (const k of process.argv[2].split(".")) v = v == null ? undefined : v[k];
    if (v !== undefined) process.stdout.write(typeof v === "string" ? v : JSON.stringify(v));
  ' "$STATE" "$1"
}

# Ends what a supervisor that died (SIGKILL, OOM) left running.
reap() { tsx "$ROOT/testbed/reap.ts" | sed 's/^/[testbed] /' >&2 || true; }

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

running_pid() {
  local pid
  pid=$(state_get pid)
  if alive "$pid"; then printf '%s' "$pid"; fi
}

cmd_up() {
  local pid
  pid=$(running_pid)
  if [[ -n "$pid" ]]; then
    say "already running (pid $pid); 'testbed/testbed.sh down' first"
    return 0
  fi
  rm -f "$STATE"
  bash "$ROOT/scripts/setup-testbed.sh"
  mkdir -p "$ROOT/.testbed"
  say "starting the testbed…"
  # setsid: own session, so closing this terminal does not signal it.
  setsid nohup tsx "$ROOT/testbed/supervisor.ts" --state "$STATE" "$@" >"$SUPERVISOR_LOG" 2>&1 < /dev/null &
  local spid=$!
  local status=""
  for _ in $(seq 1 600); do
    status=$(state_get status)
    [[ "$status" == "ready" || "$status" == "failed" ]] && break
    if ! alive "$spid"; then break; fi
    sleep 0.3
  done
  if [[ "$status" != "ready" ]]; then
    say "the testbed did not start (status: ${status:-none}); $SUPERVISOR_LOG:"
    tail -20 "$SUPERVISOR_LOG" >&2 || true
    alive "$spid" && kill -TERM "$spid" 2>/dev/null || true
    return 1
  fi
  say "ready in $(state_get timings.total) ms (pid $(state_get pid)); logs: $(state_get logDir)"
  say "use it:  eval \"\$(testbed/testbed.sh env)\""
}

cmd_down() {
  local pid
  pid=$(state_get pid)
  if ! alive "$pid"; then
    say "not running"
    rm -f "$STATE"
    reap
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    alive "$pid" || break
    sleep 0.2
  done
  if alive "$pid"; then
    say "supervisor $pid did not stop in 20 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  reap
  rm -f "$STATE"
  say "stopped"
}

cmd_status() {
  local pid
  pid=$(running_pid)
  if [[ -z "$pid" ]]; then
    echo "testbed: not running"
    return 3
  fi
  echo "testbed: $(state_get status) (supervisor pid $pid, auth $(state_get options.authProvider), domain $(state_get options.domain))"
  echo "logs:    $(state_get logDir)"
  echo "urls:    $(state_get urls)"
  echo "moto:    $(state_get motoUrl)   hosted zone $(state_get hostedZoneId)"
  echo "kubeconfig (admin): $(state_get kubeconfigs.admin)"
  local listeners
  listeners=$(state_get listenersFile)
  if [[ -n "$listeners" && -f "$listeners" ]]; then
    echo "load balancers:"
    node -e '
      const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const rows = Object.entries(m);
      if (rows.length === 0) console.log("  (none yet)");
      for (const [host, v] of rows) console.log(`  ${v.ingress}  ${host}  ${JSON.stringify(v.listeners)}`);
    ' "$listeners"
  fi
}

cmd_env() {
  if [[ -z "$(running_pid)" ]]; then
    say "not running: 'testbed/testbed.sh up' first"
    return 3
  fi
  node -e '
    const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const q = (v) => "'"'"'" + String(v).replace(/'"'"'/g, "'"'"'\\'"'"''"'"'") + "'"'"'";
    for (const [k, v] of Object.entries(s.env)) console.log(`export ${k}=${q(v)}`);
  ' "$STATE"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

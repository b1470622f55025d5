# Helpers for starting the node's daemons: each runs in the background with its log in LOGS and
# its pid in PIDS (cluster-down ends it by that pid), and a failure is one line naming it.

# The last line of a component's log that reads like an error (klog's E/F lines, logrus' level=error
# or fatal), or its last line when none does.
last_error() { # <component>
  local log="$LOGS/$1.log" line
  [ -s "$log" ] || { echo "(no output)"; return; }
  line="$(grep -E '^[EF][0-9]{4} |level=(error|fatal)|"level":"(error|fatal)"|[Ff]atal|[Ee]rror' "$log" | tail -n 1)"
  echo "${line:-$(tail -n 1 "$log")}" | cut -c1-400
}

# Stops cluster-up with the one line the user needs: which component, and what it last said.
fail() { # <component> [what happened]
  echo "local-node: $1 ${2:-failed}: $(last_error "$1") (log: $LOGS/$1.log)" >&2
  exit 1
}

start_daemon() { # <component> <command> [args…]
  local name="$1"; shift
  mkdir -p "$LOGS" "$PIDS"
  if [ -s "$PIDS/$name.pid" ] && kill -0 "$(cat "$PIDS/$name.pid")" 2>/dev/null; then return 0; fi
  # setsid: its own session, so a Ctrl-C in the terminal that ran cluster-up does not reach it.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# Writes stdin to <file> only when it differs, by a rename: kube-proxy ends itself when its
# configuration file changes, so rewriting it on a second cluster-up, even with the same content
# (truncated, then written), stopped the proxy of a running node.
write_config() { # <file>
  local file="$1" next="$1.next"
  cat >"$next"
  if cmp -s "$next" "$file"; then rm -f "$next"; else mv -f "$next" "$file"; fi
}

running() { [ -s "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

# Waits until <check> succeeds; fails early, with the component's last error, if it exits.
wait_until() { # <component> <seconds> <check command> [args…]
  local name="$1" seconds="$2" deadline; shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    running "$name" || fail "$name" "exited"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name" "was not ready after ${seconds}s"
    sleep 0.5
  done
}

kubectl_admin() { "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIGS/admin.conf" "$@"; }

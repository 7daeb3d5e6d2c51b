#!/usr/bin/env bash
# Build (once) the real server binaries used by the local testbed:
#   kube-apiserver, etcd, dex, oauth2-proxy, aws-load-balancer-controller,
#   external-dns
# from the Go module proxy, via the wrapper modules in testbed/go/<name>/.
#
# Binaries are cached outside the repository in
#   ${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}/bin/<name>-<version>
# and are never rebuilt once present. On success the script writes
#   <cache>/bin/testbed-binaries.env   (KUBE_APISERVER=, ETCD=, DEX=, OAUTH2_PROXY=,
#                                        AWS_LOAD_BALANCER_CONTROLLER=,
#                                        AWS_LOAD_BALANCER_CONTROLLER_CONFIG=,
#                                        EXTERNAL_DNS=)
#
# Usage:
#   testbed/build-binaries.sh              build what is missing, write the env file
#   testbed/build-binaries.sh --print-env  same, then print the env file on stdout
#                                          (progress goes to stderr)
#
# Environment:
#   KSERVE_EDGE_CACHE        cache root (default $HOME/.cache/kserve-edge)
#   KSERVE_EDGE_BUILD_JOBS   CPUs to use (default: number of CPUs, at most 4). With 2 or
#                            more, the builds run in two lanes at once, each with
#                            go build -p JOBS/2 (one lane links while the other
#                            compiles); with 1, one after the other.
#
# Needs only a Go >= 1.26 toolchain and access to the Go module proxy.
# Cold build (empty Go module and build caches) on 2 cores: ~10 min for the
# first four (kube-apiserver ~6 min, the others ~1.5 min each), peak RSS
# ~2 GiB; the AWS Load Balancer Controller adds ~8-11 min of CPU (it runs
# beside kube-apiserver in the second lane); external-dns (every provider of
# it is compiled in: ~1,600 packages, a 132 MiB binary) follows etcd in the
# first lane: measured cold with an empty GOCACHE (module cache warm) and
# -p 2: 467 s of CPU (395 user + 72 system), peak RSS 2.0 GiB, 29 min wall
# on a machine at load ~23 (27% of a core on average); in its lane with -p 1
# on 2 quiet cores expect ~8 min, so a cold build of all six takes ~15-16 min
# (first lane: ~6 + 1.5 + 8, second: ~11-14). A warm run (all binaries
# cached) takes well under a second.
set -euo pipefail

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testbed/versions.env
source "$script_dir/versions.env"

print_env=0
for arg in "$@"; do
  case "$arg" in
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-binaries.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '%s\n' "$*" >&2; }

# Throw-away build dir and partial output of the build in progress, removed
# on any exit (including Ctrl-C) so an interrupted build leaves nothing behind.
# Each build lane is a subshell with its own copy of these and its own trap.
cur_work=""
cur_out=""
lane_pids=()
cleanup() {
  [[ -n "$cur_work" ]] && rm -rf "$cur_work"
  [[ -n "$cur_out" ]] && rm -f "$cur_out"
  local p
  for p in "${lane_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { log "build-binaries.sh: error: $*"; exit 1; }

cache_root=${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}
bin_dir="$cache_root/bin"
env_file="$bin_dir/testbed-binaries.env"
mkdir -p "$bin_dir"
bin_dir=$(cd -- "$bin_dir" && pwd)   # absolute
env_file="$bin_dir/testbed-binaries.env"

# -s -w strips symbols (smaller, faster link); -X stamps the release version.
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=$(echo "${KUBE_VERSION#v}" | cut -d. -f1) -X k8s.io/component-base/version.gitMinor=$(echo "${KUBE_VERSION#v}" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
dex_ldflags="-s -w -X main.version=${DEX_VERSION}"
oauth2_ldflags="-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=${OAUTH2_PROXY_VERSION}"
external_dns_ldflags="-s -w -X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=${EXTERNAL_DNS_VERSION}"
lbc_ldflags="-s -w -X sigs.k8s.io/aws-load-balancer-controller/pkg/version.GitVersion=${LBC_VERSION} -X sigs.k8s.io/aws-load-balancer-controller/pkg/version.GitCommit=${LBC_MODULE_VERSION##*-}"

binary_path() { printf '%s/%s-%s' "$bin_dir" "$1" "$2"; }
KUBE_APISERVER_BIN=$(binary_path kube-apiserver "$KUBE_VERSION")
ETCD_BIN=$(binary_path etcd "$ETCD_VERSION")
DEX_BIN=$(binary_path dex "$DEX_MODULE_VERSION")
OAUTH2_PROXY_BIN=$(binary_path oauth2-proxy "$OAUTH2_PROXY_VERSION")
LBC_BIN=$(binary_path aws-load-balancer-controller "$LBC_MODULE_VERSION")
EXTERNAL_DNS_BIN=$(binary_path external-dns "$EXTERNAL_DNS_VERSION")
# The controller's manifests from its module (CRDs, RBAC role, webhooks), which
# the testbed applies: config/crd/bases, config/rbac/role.yaml, config/webhook/manifests.yaml.
LBC_CONFIG_DIR="$LBC_BIN.config"

all_cached() {
  local f
  for f in "$KUBE_APISERVER_BIN" "$ETCD_BIN" "$DEX_BIN" "$OAUTH2_PROXY_BIN" "$LBC_BIN" "$EXTERNAL_DNS_BIN"; do
    [[ -f "$f" && -x "$f" ]] || return 1
  done
  [[ -f "$LBC_CONFIG_DIR/rbac/role.yaml" ]] || return 1
}

# Copies the controller's manifests out of the Go module cache (downloading
# the module if needed), keyed by the same version as the binary.
copy_lbc_config() {
  if [[ -f "$LBC_CONFIG_DIR/rbac/role.yaml" ]]; then
    log "aws-load-balancer-controller manifests: cached ($LBC_CONFIG_DIR)"
    return 0
  fi
  local work mod tmp="$LBC_CONFIG_DIR.partial.$$"
  work=$(mktemp -d "${TMPDIR:-/tmp}/kserve-edge-lbc-config.XXXXXX")
  cp "$script_dir/go/aws-load-balancer-controller/go.mod" "$script_dir/go/aws-load-balancer-controller/go.sum" "$work/"
  mod=$(cd "$work" && go mod download -json "sigs.k8s.io/aws-load-balancer-controller@$LBC_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  rm -rf "$work"
  [[ -n "$mod" && -f "$mod/config/rbac/role.yaml" ]] || die "aws-load-balancer-controller $LBC_MODULE_VERSION: no config/ in the module cache"
  rm -rf "$tmp"
  mkdir -p "$tmp/crd/bases" "$tmp/rbac" "$tmp/webhook"
  cp "$mod"/config/crd/bases/*.yaml "$tmp/crd/bases/"
  cp "$mod/config/rbac/role.yaml" "$tmp/rbac/"
  cp "$mod/config/webhook/manifests.yaml" "$tmp/webhook/"
  chmod -R u+w "$tmp"
  rm -rf "$LBC_CONFIG_DIR"
  mv "$tmp" "$LBC_CONFIG_DIR"
  log "aws-load-balancer-controller manifests -> $LBC_CONFIG_DIR"
}

# Dex master builds server/apiserver (the gRPC management API) against
# github.com/dexidp/dex/api/v2 of the same commit, which Dex's own go.mod
# replaces with ./api/v2 (a replace that only applies in Dex's repository);
# the module proxy serves api/v2 at v2.4.0 only, which lacks the newer
# messages, so the package does not compile. The testbed never enables the
# gRPC API, so the build uses a copy of the module (made here, in the
# throw-away directory, from the checksum-verified module cache) whose
# server/apiserver is testbed/go/dex/overlay/apiserver.go: every gRPC call
# answers Unimplemented. `go build -overlay` cannot do this (it refuses files
# under GOMODCACHE).
prepare_dex() {
  local src=$1 mod
  mod=$(go mod download -json "github.com/dexidp/dex@$DEX_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -n "$mod" && -d "$mod/server/apiserver" ]] || { log "dex $DEX_MODULE_VERSION: not in the module cache"; return 1; }
  cp -r "$mod" dex-src
  chmod -R u+w dex-src
  rm -f dex-src/server/apiserver/*.go
  cp "$src/overlay/apiserver.go" dex-src/server/apiserver/
  go mod edit -replace "github.com/dexidp/dex=./dex-src"
}

check_go() {
  command -v go >/dev/null 2>&1 || die "Go ${GO_MIN_VERSION}+ is required (go not found on PATH)"
  local v
  v=$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || die "cannot run 'go env GOVERSION'"
  v=${v#go}
  local major minor
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%[.a-z]*}
  local need_major=${GO_MIN_VERSION%%.*} need_minor=${GO_MIN_VERSION#*.}
  if (( major < need_major || (major == need_major && minor < need_minor) )); then
    die "Go ${GO_MIN_VERSION}+ is required, found go${v}"
  fi
}

# build NAME VERSION WRAPPER_DIR PACKAGE PIN LDFLAGS OUT ESTIMATE VERSION_ARGS EXPECT [ANY_EXIT]
# ANY_EXIT=1: the sanity command may exit non-zero (a program with no
# --version flag, whose --help exits 1); its output must still contain EXPECT.
build_one() {
  local name=$1 version=$2 wrapper=$3 pkg=$4 pin=$5 ldflags=$6 out=$7 estimate=$8 version_args=$9 expect=${10} any_exit=${11:-0}
  if [[ -f "$out" && -x "$out" ]]; then
    log "$name $version: cached ($out)"
    return 0
  fi
  local src="$script_dir/go/$wrapper"
  [[ -f "$src/go.mod" && -f "$src/go.sum" ]] || die "missing wrapper module $src"
  grep -qF -- "$pin" "$src/go.mod" || die "$src/go.mod does not pin '$pin' (versions.env and go.mod disagree)"

  log "building $name $version (first time: ~$estimate)…"
  local start=$SECONDS
  # Build in a throw-away copy so nothing is ever written into the repo.
  local work tmp_out
  work=$(mktemp -d "${TMPDIR:-/tmp}/kserve-edge-build-$name.XXXXXX")
  cur_work=$work
  tmp_out="$bin_dir/.$name-$version.partial.$$"
  cur_out=$tmp_out
  cp "$src/go.mod" "$src/go.sum" "$src/tools.go" "$work/"
  # A wrapper may need its dependency's source adjusted (prepare_<name>).
  if declare -F "prepare_$name" >/dev/null; then
    (cd "$work" && "prepare_$name" "$src") || die "preparing $name $version failed"
  fi
  if ! (
      cd "$work"
      CGO_ENABLED=0 go build -trimpath -p "$jobs" -ldflags "$ldflags" -o "$tmp_out" "$pkg"
    ); then
    die "building $name $version failed"
  fi
  rm -rf "$work"
  cur_work=""

  # Sanity check before publishing it into the cache.
  local got
  # shellcheck disable=SC2086
  local rc=0
  got=$("$tmp_out" $version_args 2>&1) || rc=$?
  if { ((rc != 0)) && ((any_exit == 0)); } || [[ "$got" != *"$expect"* ]]; then
    die "$name $version: '$version_args' printed '$got', expected '$expect'"
  fi
  chmod 0755 "$tmp_out"
  mv -f "$tmp_out" "$out"
  cur_out=""
  local size
  size=$(du -m "$out" | cut -f1)
  log "$name $version: built in $((SECONDS - start))s (${size} MiB) -> $out"
}

write_env() {
  local tmp="$env_file.tmp.$$"
  {
    printf 'KUBE_APISERVER=%s\n' "$KUBE_APISERVER_BIN"
    printf 'ETCD=%s\n' "$ETCD_BIN"
    printf 'DEX=%s\n' "$DEX_BIN"
    printf 'OAUTH2_PROXY=%s\n' "$OAUTH2_PROXY_BIN"
    printf 'AWS_LOAD_BALANCER_CONTROLLER=%s\n' "$LBC_BIN"
    printf 'AWS_LOAD_BALANCER_CONTROLLER_CONFIG=%s\n' "$LBC_CONFIG_DIR"
    printf 'EXTERNAL_DNS=%s\n' "$EXTERNAL_DNS_BIN"
  } >"$tmp"
  mv -f "$tmp" "$env_file"
}

main() {
  local total_start=$SECONDS
  if ! all_cached; then
    check_go
    # Serialise concurrent runs (e.g. two test jobs on one machine).
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$bin_dir/.build.lock"
      flock 9
    fi
    # Modest parallelism: kube-apiserver compiles ~2k packages; on 2 cores /
    # 24 GiB, -p 2 keeps peak RSS around a few GiB.
    local ncpu
    ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
    jobs=${KSERVE_EDGE_BUILD_JOBS:-$(( ncpu > 4 ? 4 : ncpu ))}
    export GOFLAGS="-mod=mod -buildvcs=false"
    # Never switch toolchains behind the user's back; check_go ensured >= 1.26.
    export GOTOOLCHAIN=local
  fi

  # Two lanes of about equal length: kube-apiserver + etcd + external-dns, and
  # the load balancer controller + dex + oauth2-proxy. Every build is independent.
  lane_a() {
    build_one kube-apiserver "$KUBE_VERSION" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
      "k8s.io/kubernetes $KUBE_VERSION" "$kube_ldflags" "$KUBE_APISERVER_BIN" "6 min" \
      "--version" "Kubernetes $KUBE_VERSION"
    build_one etcd "$ETCD_VERSION" etcd go.etcd.io/etcd/server/v3 \
      "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$etcd_ldflags" "$ETCD_BIN" "1.5 min" \
      "--version" "etcd Version: ${ETCD_VERSION#v}"
    build_one external-dns "$EXTERNAL_DNS_VERSION" external-dns sigs.k8s.io/external-dns \
      "sigs.k8s.io/external-dns $EXTERNAL_DNS_VERSION" "$external_dns_ldflags" "$EXTERNAL_DNS_BIN" "8 min (467 s of CPU)" \
      "--version" "$EXTERNAL_DNS_VERSION"
  }
  lane_b() {
    # No --version flag: it logs its version first, then --help exits 1.
    build_one aws-load-balancer-controller "$LBC_VERSION" aws-load-balancer-controller sigs.k8s.io/aws-load-balancer-controller \
      "sigs.k8s.io/aws-load-balancer-controller $LBC_MODULE_VERSION" "$lbc_ldflags" "$LBC_BIN" "8-11 min" \
      "--help" "\"GitVersion\":\"$LBC_VERSION\"" 1
    copy_lbc_config
    build_one dex "$DEX_VERSION" dex github.com/dexidp/dex/cmd/dex \
      "github.com/dexidp/dex $DEX_MODULE_VERSION" "$dex_ldflags" "$DEX_BIN" "2-5 min" \
      "version" "$DEX_VERSION"
    build_one oauth2-proxy "$OAUTH2_PROXY_VERSION" oauth2-proxy github.com/oauth2-proxy/oauth2-proxy/v7 \
      "github.com/oauth2-proxy/oauth2-proxy/v7 $OAUTH2_PROXY_VERSION" "$oauth2_ldflags" "$OAUTH2_PROXY_BIN" "1.5 min" \
      "--version" "oauth2-proxy $OAUTH2_PROXY_VERSION"
  }
  if all_cached || ((jobs < 2)); then
    lane_a
    lane_b
  else
    jobs=$((jobs / 2))
    # A lane's own cleanup must not end the other lane: empty its copy of lane_pids.
    ( lane_pids=(); trap cleanup EXIT; trap 'exit 130' INT TERM; lane_a ) &
    lane_pids+=($!)
    ( lane_pids=(); trap cleanup EXIT; trap 'exit 130' INT TERM; lane_b ) &
    lane_pids+=($!)
    local failed=0 p
    for p in "${lane_pids[@]}"; do wait "$p" || failed=1; done
    lane_pids=()
    ((failed == 0)) || die "a build failed (see above)"
  fi

  write_env
  log "testbed binaries ready in $((SECONDS - total_start))s; env: $env_file"
  if (( print_env )); then
    cat "$env_file"
  fi
}

jobs=2
main

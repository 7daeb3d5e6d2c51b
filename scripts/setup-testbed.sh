#!/usr/bin/env bash
# Install what the local testbed needs, once. Safe to run before every
# `npm test`: a warm run only checks stamps and takes a few seconds.
#
#   1. Debian packages: nginx (the ALB's data plane), its njs module
#      (libnginx-mod-http-js: the ALB's JWT check) and openssl (the testbed CA).
#   2. A Python venv with moto[server], MLServer + mlserver-sklearn and bcrypt,
#      pinned by testbed/requirements.txt + testbed/constraints.txt.
#   3. The iris model (svm.SVC, trained from the dataset scikit-learn ships).
#   4. kube-apiserver, etcd, dex, oauth2-proxy, external-dns and the AWS Load Balancer
#      Controller (with its manifests) via testbed/build-binaries.sh.
#
# Everything is cached in ${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}, keyed
# by the pinned versions. At the end it writes <cache>/testbed.env, which the
# testbed supervisor (testbed/testbed.ts) reads to find the programs.
#
# Options: --no-binaries   skip step 4 (the Go builds)
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cache=${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}
mkdir -p "$cache"
cache=$(cd -- "$cache" && pwd)

build_binaries=1
for arg in "$@"; do
  case "$arg" in
    --no-binaries) build_binaries=0 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-testbed.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

start=$SECONDS
say() { printf '[setup-testbed] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- 1. Debian
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# nginx's JavaScript module (njs, WebCrypto): the ALB's jwt-validation check
# in the data plane (testbed/njs/alb-jwt.js).
njs_module=${KSERVE_EDGE_NGINX_JS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}
[[ -f "$njs_module" ]] || missing+=(libnginx-mod-http-js)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
  fi
  say "installing ${missing[*]} (apt-get)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # --no-install-recommends: no default site is needed; the testbed runs its
  # own nginx with its own prefix and never the system service. RUNLEVEL=1
  # keeps invoke-rc.d from starting the system nginx on port 80.
  RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  if [[ -s /run/nginx.pid ]] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    say "stopping the system nginx service the package started (the testbed runs its own)"
    /usr/sbin/nginx -s quit >&2 || true
  fi
fi
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
[[ -x "$nginx_bin" ]] || die "nginx not found after install"
nginx_v=$("$nginx_bin" -V 2>&1)
for mod in http_ssl_module http_auth_request_module; do
  [[ "$nginx_v" == *"$mod"* ]] || die "$nginx_bin lacks --with-$mod"
done
[[ -f "$njs_module" ]] || die "$njs_module not found after install (Debian package libnginx-mod-http-js)"
say "nginx: $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //') ($nginx_bin), njs module $njs_module"

# ---------------------------------------------------------------- 2. venv
venv="$cache/venv"
req="$repo/testbed/requirements.txt"
con="$repo/testbed/constraints.txt"
python=${KSERVE_EDGE_PYTHON:-}
if [[ -z "$python" ]]; then
  for p in python3.11 python3.12 python3.10 python3; do
    if command -v "$p" >/dev/null 2>&1; then python=$(command -v "$p"); break; fi
  done
fi
[[ -n "$python" ]] || die "python3 (3.10-3.12, for MLServer) not found"
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$pyver" in 3.10|3.11|3.12) ;; *) die "MLServer 1.7.1 needs Python >=3.9,<3.13; found $pyver ($python)";; esac
venv_key="py$pyver-$(hash_of "$req" "$con")"
if [[ -f "$venv/.kserve-edge-stamp" && "$(cat "$venv/.kserve-edge-stamp")" == "$venv_key" && -x "$venv/bin/moto_server" && -x "$venv/bin/mlserver" ]]; then
  say "python venv: cached ($venv)"
else
  say "creating python venv $venv (moto, MLServer, scikit-learn; first time ~1-2 min)…"
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >&2; then
    die "python -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" -c "$con" >&2
  printf '%s' "$venv_key" >"$venv/.kserve-edge-stamp"
  say "python venv ready"
fi

# ---------------------------------------------------------------- 3. model
train="$repo/testbed/python/train_iris.py"
model_key=$(hash_of "$req" "$con" "$train")
model_dir="$cache/models/sklearn-irisv2-$model_key"
if [[ -f "$model_dir/model.joblib" && -f "$model_dir/model-settings.json" ]]; then
  say "iris model: cached ($model_dir)"
else
  say "training the iris model (svm.SVC, scikit-learn's bundled dataset)…"
  tmp_model="$model_dir.tmp.$$"
  rm -rf "$tmp_model"
  "$venv/bin/python" "$train" "$tmp_model" >&2
  rm -rf "$model_dir"
  mv "$tmp_model" "$model_dir"
fi

# ---------------------------------------------------------------- 4. Go binaries
bin_env=""
if ((build_binaries)); then
  say "Go binaries (kube-apiserver, etcd, dex, oauth2-proxy, aws-load-balancer-controller, external-dns): testbed/build-binaries.sh…"
  bin_env=$(KSERVE_EDGE_CACHE="$cache" bash "$repo/testbed/build-binaries.sh" --print-env)
else
  say "skipping the Go binaries (--no-binaries)"
  [[ -f "$cache/bin/testbed-binaries.env" ]] && bin_env=$(cat "$cache/bin/testbed-binaries.env")
fi

# ---------------------------------------------------------------- testbed.env
tmp_env="$cache/testbed.env.tmp.$$"
{
  printf '# written by scripts/setup-testbed.sh; read by testbed/testbed.ts\n'
  printf 'VENV=%s\n' "$venv"
  printf 'MOTO_SERVER=%s\n' "$venv/bin/moto_server"
  printf 'MLSERVER=%s\n' "$venv/bin/mlserver"
  printf 'PYTHON=%s\n' "$venv/bin/python"
  printf 'MODEL_DIR=%s\n' "$model_dir"
  printf 'NGINX=%s\n' "$nginx_bin"
  printf 'OPENSSL=%s\n' "$(command -v openssl)"
  [[ -n "$bin_env" ]] && printf '%s\n' "$bin_env"
} >"$tmp_env"
mv -f "$tmp_env" "$cache/testbed.env"
say "ready in $((SECONDS - start))s; $cache/testbed.env"

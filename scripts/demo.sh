#!/usr/bin/env bash
# npm run demo: installs what is missing, then runs the whole workflow against the local testbed.
source "$(dirname "$0")/lib.sh"
ensure_node_modules
step "testbed set-up (first run builds kube-apiserver, etcd, Dex and oauth2-proxy: ~10 min on 2 cores)"
bash scripts/setup-testbed.sh
step "demo"
exec tsx scripts/demo.ts

//go:build tools

// Package tools pins the AWS Load Balancer Controller command (the module's
// root package is its main) as a dependency of this wrapper module; the
// binary is built by testbed/build-binaries.sh.
package tools

import _ "sigs.k8s.io/aws-load-balancer-controller"

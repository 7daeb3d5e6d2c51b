//go:build tools

// Package tools pins the dex command as a dependency of this wrapper
// module; the binary is built by testbed/build-binaries.sh.
package tools

import _ "github.com/dexidp/dex/cmd/dex"

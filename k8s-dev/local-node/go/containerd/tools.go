//go:build tools

package tools

import (
	_ "github.com/containerd/containerd/cmd/containerd"
	_ "github.com/containerd/containerd/cmd/ctr"
	_ "github.com/containerd/containerd/cmd/containerd-shim-runc-v2"
)

package node

import "context"

// ApplyRetention exposes applyRetention to the node_test package.
func ApplyRetention(ctx context.Context, n *Node, s Schedule) error { return n.applyRetention(ctx, s) }

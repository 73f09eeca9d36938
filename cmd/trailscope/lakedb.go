package main

import (
	"context"

	"github.com/trailscope/trailscope/query"
)

// openLake opens the lake's DuckDB views for detection.
func openLake(ctx context.Context, dir string) (*query.DB, error) {
	return query.Open(ctx, dir, query.Options{})
}

package main

import (
	"context"
	"fmt"
	"strings"
)

// stepNames are the steps -only can name.
const stepNames = "memory, download"

// only returns the steps names lists, each after the steps it needs, for a
// quick look at a few figures without the whole suite (and without
// touching RESULTS.md).
func (b *bench) only(names string) ([]func(context.Context) error, error) {
	var steps []func(context.Context) error
	for _, name := range strings.Split(names, ",") {
		switch strings.TrimSpace(name) {
		case "memory":
			steps = append(steps, b.memory)
		case "download": // downloads the hour that the listing step fills
			steps = append(steps, b.sealAndList, b.download)
		default:
			return nil, fmt.Errorf("-only: unknown step %q; known: %s", name, stepNames)
		}
	}
	return steps, nil
}

package main

import "github.com/spf13/cobra"

// commands lists every verb. Each is built explicitly (no init()).
func commands(g *globalFlags) []*cobra.Command {
	return []*cobra.Command{
		newIngestCmd(g),
		newDemoCmd(g),
		newDetectCmd(g),
		newScanCmd(g),
		newVerifyCmd(g),
		newMirrorCmd(g),
		newSigmaCmd(g),
		newQueryCmd(g),
		newShellCmd(g),
		newLakeCmd(g),
	}
}

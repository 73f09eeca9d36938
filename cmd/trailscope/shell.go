package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/trailscope/trailscope/query"
)

func newShellCmd(g *globalFlags) *cobra.Command {
	var lake, history string
	var allowWrites bool
	c := &cobra.Command{
		Use:   "shell --lake DIR",
		Short: "Interactive SQL shell over the lake (statements end with ;, .help for commands)",
		Long: `An interactive DuckDB SQL shell over the lake's views (see query):
line editing, TAB completion of tables, columns (userIdentity.<TAB>),
keywords and functions, multi-line statements ending with ;, dot commands
(.tables .schema .mode .timer .output .preset .help .quit) and a history
kept across sessions (--history, $TRAILSCOPE_HISTORY, else
$XDG_STATE_HOME/trailscope/history or ~/.trailscope_history). Ctrl-C
cancels the running query; Ctrl-D or .quit leaves. Read-only unless
--allow-writes. Piped input runs as a script, without prompts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if lake == "" {
				return usagef("--lake is required")
			}
			db, err := query.Open(cmd.Context(), lake, query.Options{AllowWrites: allowWrites, Sandbox: true})
			if err != nil {
				return withCode(exitFatal, err)
			}
			defer db.Close()
			warnUncommitted(g, db)
			if history == "" {
				history = os.Getenv("TRAILSCOPE_HISTORY")
			}
			if history == "" {
				history = query.DefaultHistoryFile()
			}
			if history == "-" {
				history = ""
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt)
			defer signal.Stop(sig)
			sh := query.NewShell(db, query.ShellOptions{In: g.stdin, Out: g.stdout, Err: g.stderr, HistoryFile: history,
				Width: func() int { return termWidth(g.stdout) }, Interrupts: sig})
			// Ctrl-C cancels the root context too: the shell outlives it
			// and only cancels the running query.
			return sh.Run(context.WithoutCancel(cmd.Context()))
		},
	}
	c.Flags().StringVar(&lake, "lake", "", "lake folder")
	c.Flags().StringVar(&history, "history", "", "history file (\"-\" for none)")
	c.Flags().BoolVar(&allowWrites, "allow-writes", false, "allow statements that write files")
	return c
}

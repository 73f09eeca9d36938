// Package detect runs Sigma rules over CloudTrail events and turns matches
// into findings people can act on.
//
// Rules come from the built-in pack (Builtin, Sigma YAML embedded in the
// binary, each rule with positive and look-alike negative tests) and from
// rule folders given by the user (SigmaHQ's CloudTrail rules work as is).
// They run two ways that give the same findings for the same events:
//
//   - streaming: Stream observes the ingest pipeline (ingest.Options.Observe)
//     and matches each record with the compiled Go matcher while the
//     source is read; no lake is needed;
//   - over a lake: RunSQL compiles every rule to DuckDB SQL and runs it on
//     the lake's events view.
//
// A Finding carries the rule (id, title, severity, ATT&CK tactics and
// techniques, author and licence), every contributing eventID, first and
// last event time, account, region, principal, source IP, user agent and
// the S3 keys the events came from. Events whose errorCode is set (a denied
// call) produce findings marked as attempts: an attacker who tried to stop
// logging matters even when they failed.
//
// Findings can be suppressed with a stated reason (Suppressions), written
// as a table, JSON lines, ASFF (AWS Security Hub), OCSF Detection Finding
// or SARIF 2.1.0, and posted to a webhook.
//
// Engine is safe for concurrent use; a Stream may be observed from many
// goroutines (one per object at a time).
package detect

// Package lake writes CloudTrail events into a Hive-partitioned, zstd
// Parquet lake that DuckDB, Athena, Trino and Spark read as is, and keeps
// the manifest that makes ingest incremental, resumable and exactly-once.
//
// Layout under the lake folder DIR:
//
//	DIR/events/account=A/region=R/event_date=YYYY-MM-DD/part-BATCH.parquet
//	DIR/_state/manifest/BATCH.json          the commit record of one batch (or compaction)
//	DIR/_state/lock                         held by the process writing the lake
//	DIR/_state/seen/event_date=D/BATCH.ids  sorted 64-bit hashes of the eventIDs a batch wrote
//
// Partitions are by the event's recipient account, its awsRegion and the
// UTC date of its eventTime (not the delivery date). Rows are sorted by
// eventTime within a file.
//
// # Exactly once
//
// Events are gathered into batches of whole source objects. A batch is
// written as Parquet files (temp name, fsync, rename), then its seen-ID
// files, and last its manifest entry (temp, fsync, rename, fsync of the
// folder). The manifest rename is the commit point. On open, the writer
// deletes every Parquet or seen-ID file whose batch has no manifest entry
// (what a killed run left), so a crash at any moment followed by a re-run
// leaves the lake an uninterrupted run would have: objects whose batch
// committed are skipped; the others are read again.
//
// A batch holds back, for the next one, its rows within half an hour of
// their folder's latest delivery (later objects of the folder may hold
// events as old), so a partition's batch files do not overlap in time.
// An object is committed with the batch that writes its last rows; after
// a crash its rows already written are duplicates to the re-run.
//
// Duplicate events (overlapping trails, re-delivered files, the same file
// under two keys) are written once: an event's identity is its eventID
// (or, for the old records without one, a hash of its bytes), and the
// seen-ID sets are kept per event date, because copies of one event share
// its eventTime. Every event is counted as written, duplicate or rejected.
//
// # Encoding
//
// Batches are written by the package's own Parquet encoder (encode.go),
// which shreds []*ingest.Event row by row into per-column pages (parquet-go's
// reflective writer spent most of ingest's CPU there). Its files are the
// ones parquet-go writes for ingest.Event: the same schema elements (taken
// from parquet-go's schema of the type), data pages v2, dictionary or
// DELTA_LENGTH_BYTE_ARRAY strings, zstd pages, statistics, the page index,
// and Bloom filters; TestEncoderMatchesParquetGo holds it to that.
// Compaction reads and merges with parquet-go.
//
// # Compaction
//
// Compact (and Writer.Close with Options.Compact) merges a partition's
// small per-batch files into large files sorted by eventTime. Files whose
// times do not overlap (the writer's hold-back makes that the usual case)
// are concatenated: their column chunks, Bloom filters and page indexes
// are copied byte for byte under a new footer (concat.go); others are
// merged row by row through parquet-go. A compaction
// is committed like a batch: merged file, then a manifest entry of kind
// "compact" listing the files it replaces, then their deletion; Open
// deletes what a crash left on either side of the commit.
//
// One process writes a lake at a time: Open and Compact take an exclusive
// flock on DIR/_state/lock.
//
// A Writer is used by one goroutine (ingest.Run's sink goroutine).
package lake

// Command kraken-ferretdb runs FerretDB 1.x embedded, as the MongoDB-wire server
// for Kraken's development machines and tests: on PostgreSQL by default, or on
// SQLite (`-handler sqlite`, the store before PostgreSQL, kept for comparison).
//
// On PostgreSQL, FerretDB 1.24 sends only top-level equality filters to SQL, as
// `_jsonb->'field' @> value`, which no btree index can serve; the indexes it
// creates for `createIndexes` only enforce uniqueness. ginkeeper.go adds, for
// every field of every index the application declares (and for `_id`), a GIN
// index on that expression, so equality look-ups cost the same at any size
// (README, "Storage").
//
// A plain `go install` of FerretDB's own binary panics on a missing version
// file, so we embed the library instead.
//
// FerretDB 1.24 applies an update by reading the matching documents, changing
// them in Go and writing them back, with no lock between the read and the
// write: two concurrent `$inc`s on one document lose one of them, and a
// conditional update such as `{uses: {$lt: 5}}` can succeed more often than
// the condition allows (measured: 16 of 20 racing updates "succeeded" on a
// counter that allowed 5). MongoDB applies each single-document update
// atomically, and Kraken's services rely on that. So FerretDB listens on a
// private Unix socket and this program serves the TCP port through a small
// proxy that lets one write command run at a time (see writeproxy.go); reads
// are not serialised.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "postgresql", "backend: postgresql or sqlite")
	pgURL := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5433/ferretdb", "PostgreSQL URL (postgresql handler)")
	dataDir := flag.String("data", "data/ferretdb", "SQLite data directory (sqlite handler)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		log.Fatalf("cannot create data directory: %v", err)
	}
	absData, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Fatalf("bad data directory: %v", err)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// Unix socket paths are limited to ~100 bytes, so keep it short and private.
	sockDir, err := os.MkdirTemp("", "kraken-ferretdb-")
	if err != nil {
		log.Fatalf("cannot create socket directory: %v", err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "ferretdb.sock")

	var keeper *ginKeeper
	switch *handler {
	case "sqlite":
	case "postgresql":
		*pgURL = withPoolSize(*pgURL)
		if keeper, err = newGinKeeper(context.Background(), *pgURL, logger); err != nil {
			log.Fatalf("cannot reach PostgreSQL: %v", err)
		}
	default:
		log.Fatalf("bad -handler %q: postgresql or sqlite", *handler)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{Unix: sock},
		Logger:        logger,
		Handler:       *handler,
		PostgreSQLURL: *pgURL,
		SQLiteURL:     "file:" + absData + "/",
	})
	if err != nil {
		log.Fatalf("cannot start FerretDB: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 2)
	go func() { errc <- f.Run(ctx) }()
	go func() { errc <- serveProxy(ctx, *listen, sock, keeper, logger) }()
	if keeper != nil {
		go keeper.run(ctx)
	}

	logger.Warn("kraken-ferretdb listening", "addr", *listen, "handler", *handler)
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil && ctx.Err() == nil {
			log.Fatalf("FerretDB stopped: %v", err)
		}
	}
}

// withPoolSize raises pgx's default pool (4 connections on 2 cores) unless the URL sets one. FerretDB
// holds a connection for each open cursor and each write; with 4, a few clients iterating cursors
// while others write exhausted the pool, and a write waiting for a connection under the write lock
// stopped everything.
func withPoolSize(url string) string {
	if strings.Contains(url, "pool_max_conns=") {
		return url
	}
	if strings.Contains(url, "?") {
		return url + "&pool_max_conns=100"
	}
	return url + "?pool_max_conns=100"
}

package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ginKeeper gives every field that an application index names a GIN index on
// FerretDB's own filter expression, `(_jsonb->'field')`, in every FerretDB
// database (a PostgreSQL schema holding `_ferretdb_database_metadata`).
//
// FerretDB 1.24 pushes an equality filter down as `_jsonb->'field' @> value`.
// Only GIN supports `@>`, so the btree indexes FerretDB builds for
// `createIndexes` are never used to read, and every filtered query is a
// sequential scan of the collection's table. With a GIN index on the same
// expression PostgreSQL answers it from the index (measured: ~1 ms at 10k and
// at 1M rows). `_id` gets one too: finds, updates and deletes by `_id` use the
// same expression.
//
// The keeper reads the fields from FerretDB's metadata, so it follows the
// indexes the application declares through the MongoDB API (MongoEngine's
// `meta["indexes"]`), and it runs after every `createIndexes` or `create`
// that passes the proxy, at start, and every minute (collections created by a
// first insert). Dropping a collection drops its table and these indexes.
type ginKeeper struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	mu     sync.Mutex
}

func newGinKeeper(ctx context.Context, url string, logger *slog.Logger) (*ginKeeper, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		return nil, err
	}
	// A generic plan cannot match an expression index (FerretDB binds the key as a parameter):
	// always plan with the values (a safety belt; PostgreSQL picks custom plans here anyway). And no
	// JIT: FerretDB's plans misestimate jsonb functions, and compiling one took 90 ms of a 1 ms query.
	var db string
	if err := pool.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return nil, err
	}
	for _, setting := range []string{"plan_cache_mode = force_custom_plan", "jit = off"} {
		if _, err := pool.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET %s", pgx.Identifier{db}.Sanitize(),
			setting)); err != nil {
			return nil, err
		}
	}
	pool.Reset() // the settings apply to new sessions
	return &ginKeeper{pool: pool, logger: logger}, nil
}

func (k *ginKeeper) run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		k.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// wanted lists (schema, table, field) for every indexed field and every table's `_id`.
const wantedSQL = `
SELECT m._jsonb->>'table', k.field
FROM %[1]s m,
LATERAL (SELECT '_id' AS field
         UNION
         SELECT jsonb_object_keys(idx->'key')
         FROM jsonb_array_elements(CASE jsonb_typeof(m._jsonb->'indexes')
                                   WHEN 'array' THEN m._jsonb->'indexes' ELSE '[]' END) idx) k
WHERE k.field NOT LIKE '$%%' AND k.field NOT LIKE '%%.%%'`

func (k *ginKeeper) sync(ctx context.Context) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	schemas, err := k.strings(ctx, `SELECT table_schema FROM information_schema.tables
		WHERE table_name = '_ferretdb_database_metadata'`)
	if err != nil {
		k.logger.Warn("gin keeper: cannot list databases", "error", err)
		return
	}
	existing, err := k.strings(ctx, `SELECT schemaname || '.' || indexname FROM pg_indexes
		WHERE indexname LIKE '%\_kg\_%'`)
	if err != nil {
		k.logger.Warn("gin keeper: cannot list indexes", "error", err)
		return
	}
	have := make(map[string]bool, len(existing))
	for _, name := range existing {
		have[name] = true
	}

	for _, schema := range schemas {
		rows, err := k.pool.Query(ctx, fmt.Sprintf(wantedSQL,
			pgx.Identifier{schema, "_ferretdb_database_metadata"}.Sanitize()))
		if err != nil {
			k.logger.Warn("gin keeper: cannot read metadata", "schema", schema, "error", err)
			continue
		}
		type want struct{ table, field string }
		var wants []want
		for rows.Next() {
			var w want
			if err := rows.Scan(&w.table, &w.field); err == nil && w.table != "" {
				wants = append(wants, w)
			}
		}
		rows.Close()

		for _, w := range wants {
			name := indexName(w.table, w.field)
			if have[schema+"."+name] {
				continue
			}
			ddl := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s USING gin ((_jsonb -> %s))",
				pgx.Identifier{name}.Sanitize(), pgx.Identifier{schema, w.table}.Sanitize(), literal(w.field))
			start := time.Now()
			if _, err := k.pool.Exec(ctx, ddl); err != nil {
				// the table may have been dropped meanwhile; the next sync tries again
				k.logger.Warn("gin keeper: cannot create index", "schema", schema, "table", w.table,
					"field", w.field, "error", err)
				continue
			}
			have[schema+"."+name] = true
			k.logger.Info("gin keeper: index created", "schema", schema, "table", w.table, "field", w.field,
				"seconds", time.Since(start).Seconds())
		}
	}
}

func (k *ginKeeper) strings(ctx context.Context, sql string) ([]string, error) {
	rows, err := k.pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// indexName is short (PostgreSQL names stop at 63 bytes) and stable for a table and field.
func indexName(table, field string) string {
	h := fnv.New32a()
	h.Write([]byte(field))
	if len(table) > 48 {
		table = table[:48]
	}
	return fmt.Sprintf("%s_kg_%08x", table, h.Sum32())
}

func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

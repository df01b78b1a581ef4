// Command writer plays the VRWX API for tests: a separate process that opens the
// database with the API's pragmas and commits new DLQ events and job completions at a
// steady rate, so backup, restore and DLQ tests face real concurrent writes from
// another process, with real file locks.
//
// Protocol on stdout, one line per event:
//
//	ready <pid>
//	ok <seq> <dlq_event_id> <job_completion_id> <commit_micros>
//	err <seq> <message>
//	done <committed> <errors>
//
// It stops cleanly when stdin closes or on SIGTERM/SIGINT.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

func main() {
	dbPath := flag.String("db", "", "database path")
	rate := flag.Int("rate", 200, "transactions per second (each inserts one dlq_events and one job_completions row)")
	jobBase := flag.Int64("job-base", 9_000_000, "first job id this writer uses")
	flag.Parse()
	if *dbPath == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "writer: -db PATH and -rate > 0 are required")
		os.Exit(2)
	}
	if err := run(*dbPath, *rate, *jobBase); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(1)
	}
}

func run(path string, rate int, jobBase int64) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()

	db, err := apidb.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		return fmt.Errorf("connect %s: %w", path, err)
	}
	defer conn.Close()
	var tenantID, robotID string
	if err := conn.QueryRowContext(context.Background(),
		`SELECT tenant_id, robot_id FROM robots ORDER BY id LIMIT 1`).Scan(&tenantID, &robotID); err != nil {
		return fmt.Errorf("pick a robot in %s: %w", path, err)
	}

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "ready %d\n", os.Getpid())
	out.Flush()

	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var committed, failed int64
	for seq := int64(1); ; seq++ {
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "done %d %d\n", committed, failed)
			return nil
		case <-tick.C:
		}
		start := time.Now()
		dlqID, jcID, err := commitOne(conn, tenantID, robotID, fmt.Sprint(jobBase+seq), start.UnixMilli())
		if err != nil {
			failed++
			fmt.Fprintf(out, "err %d %s\n", seq, strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			committed++
			fmt.Fprintf(out, "ok %d %d %d %d\n", seq, dlqID, jcID, time.Since(start).Microseconds())
		}
		out.Flush()
	}
}

// commitOne inserts both rows in one BEGIN IMMEDIATE transaction, the way the API's
// webhook handler records a failed completion, so a consistent snapshot holds both
// rows of a sequence number or neither.
func commitOne(conn *sql.Conn, tenantID, robotID, jobID string, now int64) (dlqID, jcID int64, err error) {
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(ctx, `ROLLBACK`)
		}
	}()
	payload := fmt.Sprintf(`{"jobId":%q,"robotId":%q,"serviceType":"inspection","manifestHash":"0x%064x","controllerSig":"0x%0130x"}`,
		jobID, robotID, now, now)
	res, err := conn.ExecContext(ctx, `INSERT INTO dlq_events(type, payload, reason, error_code, retry_count, next_retry_at,
		service_type, job_id, manifest_hash, created_at) VALUES ('TX_FAIL', ?, 'relayer transaction failed', 'RELAY_TX_FAILED',
		0, ?, 'inspection', ?, ?, ?)`, payload, now+60_000, jobID, fmt.Sprintf("0x%064x", now), now)
	if err != nil {
		return 0, 0, fmt.Errorf("insert dlq event: %w", err)
	}
	if dlqID, err = res.LastInsertId(); err != nil {
		return 0, 0, err
	}
	res, err = conn.ExecContext(ctx, `INSERT INTO job_completions(tenant_id, robot_id, job_id, service_type, manifest_hash,
		status, hash_match, payload_json, created_at, updated_at) VALUES (?, ?, ?, 'inspection', ?, 'FAILED', 0, ?, ?, ?)`,
		tenantID, robotID, jobID, fmt.Sprintf("0x%064x", now), payload, now, now)
	if err != nil {
		return 0, 0, fmt.Errorf("insert job completion: %w", err)
	}
	if jcID, err = res.LastInsertId(); err != nil {
		return 0, 0, err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return dlqID, jcID, nil
}

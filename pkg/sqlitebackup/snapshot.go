package sqlitebackup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The snapshot copy (MethodSnapshot) takes the same point-in-time copy as the backup
// API, at the cost of sequential file I/O instead of one read and one write system
// call per page, and hashes the copy as it writes it:
//
//   - One read transaction on the source pins a snapshot for the whole copy. While
//     it is open, SQLite guarantees the main database file holds, for every page the
//     write-ahead log does not mention, exactly the snapshot's content: a checkpoint
//     only copies WAL frames up to the oldest reader's snapshot into the file, and a
//     rollback-journal writer cannot write the file while a reader holds its SHARED
//     lock.
//   - So the copy reads the main file in large chunks and replaces every page that
//     has any frame in the -wal file (a superset of the pages the snapshot takes from
//     the log: frames written after the snapshot began and stale frames of earlier
//     log generations are included, which costs a page read and nothing else) with
//     the page as the snapshot sees it, through SQLite's sqlite_dbpage table.
//   - Page 1 says "WAL" in the header bytes 18 and 19; the copy says "rollback
//     journal" instead, which is all PRAGMA journal_mode=DELETE changes in the file,
//     so the copy is self-contained without a second pass.
//
// The copy is then checked with integrity_check or quick_check like every other copy,
// so a fault in this reasoning would fail the backup rather than publish a bad one.

const (
	// copyChunk is how much of the file one read covers; copyBuffers chunks are in
	// flight between the reader and the writer, which bounds the memory the copy
	// holds (copyChunk*copyBuffers), whatever the database's size.
	//
	// 64 KiB, not 1 MiB: with 1 MiB writes a 100 MB backup took 0.6-1.2 s, nearly all
	// of it in the kernel copying into the new file's page cache (perf:
	// copy_folio_from_iter_atomic), 3-6x sqlite3's .backup (0.2 s, 4 KiB writes);
	// with 64 KiB writes it took 0.15-0.23 s on the same VM, and 1 GB took no longer (5.9
	// to 10.8 s against 10.2-10.4 s; sqlite3 9.3-11.2 s). make bench measures it.
	copyChunk   = 64 << 10
	copyBuffers = 16
	// progressEvery is how often the copy reports its progress: once per MiB, not
	// once per chunk.
	progressEvery = 1 << 20
)

// walHeaderSize and walFrameHeaderSize are fixed by SQLite's WAL file format.
const (
	walHeaderSize      = 32
	walFrameHeaderSize = 24
)

// pageSet is a bitmap of page numbers 1..n.
type pageSet struct {
	bits []uint64
	all  bool // every page: the -wal file could not be read as one
}

func newPageSet(n int64) *pageSet { return &pageSet{bits: make([]uint64, n/64+1)} }

func (s *pageSet) add(pgno uint32) {
	if int(pgno/64) < len(s.bits) {
		s.bits[pgno/64] |= 1 << (pgno % 64)
	}
}

func (s *pageSet) has(pgno int64) bool {
	return s.all || (pgno/64 < int64(len(s.bits)) && s.bits[pgno/64]&(1<<(pgno%64)) != 0)
}

// walPages returns every page number (1..pageCount) named by a frame header in the
// -wal file beside db: all frames, valid or stale, so the set is never too small.
// An unreadable or foreign -wal file yields a set of every page, so the copy falls
// back to reading each page through SQLite.
func walPages(db string, pageSize, pageCount int64) (*pageSet, error) {
	set := newPageSet(pageCount)
	f, err := os.Open(db + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s-wal: %w", db, err)
	}
	// Closing this descriptor drops no lock SQLite relies on: SQLite locks the -shm
	// file and the database, never the -wal.
	defer f.Close()
	r := bufio.NewReaderSize(f, copyChunk)
	hdr := make([]byte, walHeaderSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) {
			return set, nil // an empty log: nothing in it
		}
		set.all = true
		return set, nil
	}
	magic := binary.BigEndian.Uint32(hdr[0:4])
	if (magic != 0x377f0682 && magic != 0x377f0683) || int64(binary.BigEndian.Uint32(hdr[8:12])) != pageSize {
		set.all = true
		return set, nil
	}
	fh := make([]byte, walFrameHeaderSize)
	for {
		if _, err := io.ReadFull(r, fh); err != nil {
			return set, nil // the end, or a frame still being written: its page is covered below
		}
		if pgno := binary.BigEndian.Uint32(fh[0:4]); pgno >= 1 && int64(pgno) <= pageCount {
			set.add(pgno)
		}
		if _, err := r.Discard(int(pageSize)); err != nil {
			return set, nil
		}
	}
}

// snapshotBackup copies the snapshot that one read transaction pins into tmp
// (snapshotCopy) and, unless opts.CheckCopy, checks that same snapshot on a second
// connection at the same time. checking then waits for that check; it is nil when
// the copy is to be checked instead (asked for, or no second connection could be
// pinned to the same snapshot).
func snapshotBackup(ctx context.Context, srcDB *sql.DB, srcFile *os.File, tmp string, opts BackupOptions, m *Manifest) (checking func() (CheckResult, error), err error) {
	copyConn, err := srcDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to database %s: %w", m.Source, err)
	}
	defer copyConn.Close()
	if err := copyConn.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&m.SQLiteVersion); err != nil {
		return nil, fmt.Errorf("read sqlite_version: %w", err)
	}
	var checkConn *sql.Conn
	if !opts.CheckCopy {
		if checkConn, err = srcDB.Conn(ctx); err != nil {
			return nil, fmt.Errorf("connect to database %s: %w", m.Source, err)
		}
	}
	same, err := pinSnapshot(ctx, copyConn, checkConn)
	if err != nil {
		if checkConn != nil {
			checkConn.Close()
		}
		return nil, err
	}
	defer copyConn.ExecContext(context.Background(), `ROLLBACK`)
	if !same && checkConn != nil {
		checkConn.ExecContext(context.Background(), `ROLLBACK`)
		checkConn.Close()
		checkConn = nil
	}
	copyErr := func(err error) error {
		return fmt.Errorf("copy %s: %w", m.Source, describeIOError(err, filepath.Dir(tmp)))
	}
	if checkConn == nil {
		if err := snapshotCopy(ctx, copyConn, srcFile, m.Source, tmp, opts.Progress, m); err != nil {
			return nil, copyErr(err)
		}
		return nil, nil
	}

	checkCtx, cancel := context.WithCancel(ctx)
	type checked struct {
		res CheckResult
		err error
	}
	done := make(chan checked, 1)
	go func() {
		defer checkConn.Close()
		defer checkConn.ExecContext(context.Background(), `ROLLBACK`)
		res, err := runCheck(checkCtx, checkConn, opts.Quick)
		if err == nil && res.OK {
			err = describe(checkCtx, checkConn, m)
		}
		done <- checked{res, err}
	}()
	if err := snapshotCopy(ctx, copyConn, srcFile, m.Source, tmp, opts.Progress, m); err != nil {
		cancel()
		<-done
		return nil, copyErr(err)
	}
	m.Checked = CheckedSnapshot
	return func() (CheckResult, error) {
		defer cancel()
		c := <-done
		if c.err != nil {
			return c.res, fmt.Errorf("%s of %s: %w", c.res.Check, m.Source, c.err)
		}
		return c.res, nil
	}, nil
}

// pinSnapshot opens a read transaction on a and, when b is not nil, on b, and
// reports whether both see one snapshot. SQLite cannot hand a snapshot from one
// connection to another here, so b proves it: its data version, read before a
// began and again inside its own transaction, changes if any other connection
// committed in between, and a began in between. A commit in that window (a busy
// writer) means another try; after a few, the copy is checked instead.
func pinSnapshot(ctx context.Context, a, b *sql.Conn) (same bool, err error) {
	begin := func(c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, `BEGIN`); err != nil {
			return fmt.Errorf("begin read transaction: %w", err)
		}
		var n int
		if err := c.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
			c.ExecContext(context.Background(), `ROLLBACK`)
			return fmt.Errorf("start read transaction: %w", err)
		}
		return nil
	}
	if b == nil {
		return false, begin(a)
	}
	for try := 0; try < 5; try++ {
		var before, after int64
		if err := b.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&before); err != nil {
			return false, fmt.Errorf("read data_version: %w", err)
		}
		if err := begin(a); err != nil {
			return false, err
		}
		if err := begin(b); err != nil {
			a.ExecContext(context.Background(), `ROLLBACK`)
			return false, err
		}
		if err := b.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&after); err != nil {
			a.ExecContext(context.Background(), `ROLLBACK`)
			b.ExecContext(context.Background(), `ROLLBACK`)
			return false, fmt.Errorf("read data_version: %w", err)
		}
		if before == after {
			return true, nil
		}
		a.ExecContext(context.Background(), `ROLLBACK`)
		b.ExecContext(context.Background(), `ROLLBACK`)
	}
	return false, begin(a)
}

// snapshotCopy writes the snapshot that conn's open read transaction pins into
// tmp, reading the main database file through in, and records the copy's geometry
// and sha256 (of exactly the bytes written) in m. The caller closes in only after
// it has closed its SQLite connections to src: closing a descriptor drops the locks
// this process holds on the file, SQLite's included.
func snapshotCopy(ctx context.Context, conn *sql.Conn, in *os.File, src, tmp string, progress func(Progress), m *Manifest) (err error) {
	var pageSize, pageCount int64
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return fmt.Errorf("read page_size: %w", err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pageCount); err != nil {
		return fmt.Errorf("read page_count: %w", err)
	}
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return fmt.Errorf("read journal_mode: %w", err)
	}
	fromLog := newPageSet(pageCount)
	if mode == "wal" {
		if fromLog, err = walPages(src, pageSize, pageCount); err != nil {
			return err
		}
	}
	page, err := conn.PrepareContext(ctx, `SELECT data FROM sqlite_dbpage WHERE pgno = ?`)
	if err != nil {
		return fmt.Errorf("read pages through SQLite: %w", err)
	}
	defer page.Close()

	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", tmp, err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", tmp, cerr)
		}
	}()

	// The writer hashes and writes chunks in order while the reader fills the next.
	free := make(chan []byte, copyBuffers)
	for range copyBuffers {
		free <- make([]byte, copyChunk-copyChunk%pageSize)
	}
	full := make(chan []byte, copyBuffers)
	h := sha256.New()
	written := make(chan error, 1)
	go func() {
		var werr error
		for b := range full {
			if werr == nil {
				h.Write(b)
				_, werr = out.Write(b)
			}
			free <- b[:cap(b)]
		}
		written <- werr
	}()
	total := pageCount * pageSize
	var reported int64
	rerr := func() error {
		for off := int64(0); off < total; {
			if err := ctx.Err(); err != nil {
				return err
			}
			b := <-free
			b = b[:min(int64(len(b)), total-off)]
			got, err := in.ReadAt(b, off)
			if err != nil && !errors.Is(err, io.EOF) {
				full <- b[:0]
				return fmt.Errorf("read %s: %w", src, err)
			}
			for p := int64(0); p < int64(len(b)); p += pageSize {
				pgno := (off+p)/pageSize + 1
				if !fromLog.has(pgno) && p+pageSize <= int64(got) {
					continue
				}
				// In the log, or past the end of the main file (a page only the log
				// holds so far): as the snapshot sees it.
				var data []byte
				if err := page.QueryRowContext(ctx, pgno).Scan(&data); err != nil {
					full <- b[:0]
					return fmt.Errorf("read page %d through SQLite: %w", pgno, err)
				}
				if int64(len(data)) != pageSize {
					full <- b[:0]
					return fmt.Errorf("page %d through SQLite has %d bytes, expected %d", pgno, len(data), pageSize)
				}
				copy(b[p:p+pageSize], data)
			}
			if off == 0 && mode == "wal" {
				b[18], b[19] = 1, 1 // file format: rollback journal, not WAL
			}
			full <- b
			off += int64(len(b))
			if off-reported >= progressEvery || off == total {
				reported = off
				progress(Progress{Phase: "copy", Done: off, Total: total, Pages: off / pageSize, TotalPages: pageCount})
			}
		}
		return nil
	}()
	close(full)
	werr := <-written
	if rerr != nil {
		return rerr
	}
	if werr != nil {
		return werr // an *fs.PathError: it names the file
	}
	m.PageSize, m.PageCount = pageSize, pageCount
	m.DBSize, m.DBSHA256 = total, hex.EncodeToString(h.Sum(nil))
	m.Size, m.SHA256 = m.DBSize, m.DBSHA256
	return nil
}

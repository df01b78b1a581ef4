//go:build unix

package apidb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SQLite's unix VFS lock layout (sqlite3.c, os_unix.c). A connection to a WAL
// database holds a shared lock on the "DMS" byte of the -shm file for as long as it
// is open, whether or not it is in a transaction, and a shared lock in the database
// file's lock range while it reads; a rollback-mode writer holds the RESERVED or
// PENDING byte.
const (
	dbLockStart  = 0x40000000 // PENDING_BYTE
	dbLockLen    = 2 + 510    // PENDING, RESERVED, and the SHARED range
	shmLockStart = 120        // UNIX_SHM_BASE: WRITE, CKPT, RECOVER, READ0..4
	shmLockLen   = 8 + 1      // ...and UNIX_SHM_DMS at 128
)

// Holders reports the other processes that have the database at dbPath open.
//
// Two independent probes, because each sees what the other cannot:
//
//  1. fcntl(F_GETLK) asks the kernel whether any process holds a lock that would
//     conflict with an exclusive lock over SQLite's lock bytes in the -shm file and
//     in the database file. This is exactly the test SQLite itself makes before it
//     treats a WAL database as unused (it takes an exclusive lock on the DMS byte
//     to decide whether to rebuild the -shm), so a live API in WAL mode is always
//     seen, even from another container sharing the volume, and even on network
//     filesystems that forward POSIX locks. F_GETLK only asks; it never takes a lock,
//     so probing cannot block or disturb the API.
//  2. On Linux, /proc/<pid>/fd is scanned for descriptors that point at the
//     database, its -wal or its -shm. This catches an idle connection to a
//     rollback-journal database, which holds no lock at all between transactions,
//     and names the program. Processes we may not inspect are skipped, which is
//     why the lock probe comes first.
//
// Locks held by this process are invisible to F_GETLK, and opening then closing a
// descriptor drops this process's own POSIX locks on a file, so call Holders while
// this process has no connection to dbPath open.
func Holders(ctx context.Context, dbPath string) ([]Holder, error) {
	var out []Holder
	seen := map[int]bool{}
	add := func(h Holder) {
		if h.PID > 0 {
			if seen[h.PID] {
				return
			}
			seen[h.PID] = true
			h.Program = programName(h.PID)
		}
		out = append(out, h)
	}
	for _, probe := range []struct {
		file       string
		start, len int64
		how        string
	}{
		{dbPath + "-shm", shmLockStart, shmLockLen, "holds a lock on the WAL index (-shm)"},
		{dbPath, dbLockStart, dbLockLen, "holds a lock on the database file"},
	} {
		pid, held, err := probeLock(probe.file, probe.start, probe.len)
		if err != nil {
			return nil, err
		}
		if held {
			add(Holder{PID: pid, File: probe.file, How: probe.how})
		}
	}
	fds, err := procHolders(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	for _, h := range fds {
		add(h)
	}
	return out, nil
}

// probeLock reports whether another process holds a lock overlapping
// [start, start+length) of path, and its pid when the kernel knows it (an OFD lock
// has none: pid -1 is reported as 0).
func probeLock(path string, start, length int64) (pid int, held bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("probe locks on %s: %w", path, err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: start, Len: length}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return 0, false, fmt.Errorf("probe locks on %s: %w", path, err)
	}
	if lk.Type == unix.F_UNLCK {
		return 0, false, nil
	}
	if lk.Pid > 0 {
		pid = int(lk.Pid)
	}
	return pid, true, nil
}

// procHolders scans /proc for descriptors open on the database or its sidecars.
// Where there is no /proc (macOS, BSD) it finds nothing and the lock probe stands
// alone.
func procHolders(ctx context.Context, dbPath string) ([]Holder, error) {
	targets := map[string]os.FileInfo{}
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm", dbPath + "-journal"} {
		if fi, err := os.Stat(p); err == nil {
			targets[p] = fi
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil
	}
	self := os.Getpid()
	var out []Holder
	for _, p := range procs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		fdDir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
	fdLoop:
		for _, fd := range fds {
			fi, err := os.Stat(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			for path, t := range targets {
				if os.SameFile(fi, t) {
					out = append(out, Holder{PID: pid, File: path, How: "has the file open"})
					break fdLoop
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

func programName(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

package apidb

import (
	"errors"
	"strconv"
)

// ErrInUse says another process has the database open (or that this platform cannot
// tell, which callers treat the same way).
var ErrInUse = errors.New("the database is in use")

// Holder is a process that has the database open.
type Holder struct {
	PID     int    // 0 when the kernel does not say (an OFD lock, a lock from another host)
	Program string // from /proc/<pid>/comm when known
	File    string // the file it holds: the database, its -wal or its -shm
	How     string // what was seen: a lock on the WAL index, a lock on the file, an open descriptor
}

func (h Holder) String() string {
	who := "a process"
	if h.PID > 0 {
		who = "pid " + strconv.Itoa(h.PID)
		if h.Program != "" {
			who += " (" + h.Program + ")"
		}
	}
	return who + " " + h.How
}

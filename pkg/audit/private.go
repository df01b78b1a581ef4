package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// checkPrivate refuses (errs.Refused) a log that others on this machine can read or
// write, or one in a directory they can write (and so replace the log in): the log
// names every transaction and key operation, and it is what stops a rerun from
// paying twice, so a log someone else could edit is not trusted — as a key file
// others can read is not used. A log or a directory that does not exist yet is
// created private (0600, 0700).
func (l *Log) checkPrivate() error {
	if runtime.GOOS == "windows" {
		return nil
	}
	for _, p := range []struct {
		path, what, chmod, others string
		bad                       fs.FileMode
	}{
		{filepath.Dir(l.Path), "the directory of the audit log", "chmod 700 ", "change what is in it", 0o022},
		{l.Path, "the audit log", "chmod 600 ", "read or change it", 0o077},
	} {
		fi, err := os.Stat(p.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return errs.Failedf("%s %s cannot be inspected", p.what, redact.Mask(p.path)).Wrap(err)
		}
		if perm := fi.Mode().Perm(); perm&p.bad != 0 {
			return errs.Refusedf("%s %s has mode %04o: others on this machine can %s, so the audit log is not used (it names every transaction and key operation, and a rerun trusts it not to pay twice)", p.what, redact.Mask(p.path), perm, p.others).
				WithFix(p.chmod + redact.Mask(p.path))
		}
	}
	return nil
}

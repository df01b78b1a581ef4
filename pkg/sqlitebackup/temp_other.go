//go:build !unix

package sqlitebackup

import "os"

// lockTemp does nothing where there is no flock.
func lockTemp(*os.File) error { return nil }

// tempUnlocked cannot tell a running process's file from a dead one's here, so it
// reports every file as held: nothing is removed, and db list shows it in progress.
func tempUnlocked(string) (bool, error) { return false, nil }

// processAlive cannot tell here: every owner counts as running, so only tempGrace
// decides.
func processAlive(int) bool { return true }

// canRemove cannot tell here; removing will.
func canRemove(string) error { return nil }

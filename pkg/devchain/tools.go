package devchain

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

const modulePath = "github.com/vrwx/vrwxctl"

// ErrToolNotFound is wrapped by AnvilPath and CastPath when the binary is nowhere to be
// found, so callers can tell "not installed" from a broken installation.
var ErrToolNotFound = errors.New("tool not found")

// AnvilPath locates the anvil binary: $VRWX_ANVIL, then the copy scripts/tools.sh
// installs under tools/node_modules, then $PATH.
func AnvilPath() (string, error) { return toolPath("anvil", "VRWX_ANVIL") }

// CastPath locates the cast binary: $VRWX_CAST, then tools/node_modules, then $PATH.
func CastPath() (string, error) { return toolPath("cast", "VRWX_CAST") }

func toolPath(tool, env string) (string, error) {
	// An explicit override that points nowhere is a mistake to report, not a reason
	// to quietly pick some other binary.
	if p := os.Getenv(env); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", env, p, err)
		}
		return p, nil
	}
	var tried []string
	if root, err := RepoRoot(); err == nil {
		p := filepath.Join(root, "tools", "node_modules", "@foundry-rs", npmPlatformDir(tool), "bin", exeName(tool))
		if checkExecutable(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	tried = append(tried, "$PATH")
	return "", fmt.Errorf("%s: %w (looked in $%s, %s): run scripts/tools.sh (or make tools) to install it",
		tool, ErrToolNotFound, env, strings.Join(tried, ", "))
}

// npmPlatformDir names the per-platform npm package that carries the native binary,
// e.g. anvil-linux-amd64; npm says win32 where Go says windows.
func npmPlatformDir(tool string) string {
	goos := runtime.GOOS
	if goos == "windows" {
		goos = "win32"
	}
	return tool + "-" + goos + "-" + runtime.GOARCH
}

func exeName(tool string) string {
	if runtime.GOOS == "windows" {
		return tool + ".exe"
	}
	return tool
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("is a directory")
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("not executable")
	}
	return nil
}

// RepoRoot walks up from the working directory to the directory whose go.mod declares
// module github.com/vrwx/vrwxctl. Tests run in their package directory, so this finds
// the checkout wherever it lives.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repo root: no go.mod for module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func declaresModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

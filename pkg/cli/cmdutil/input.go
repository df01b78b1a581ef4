package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// annotationHash marks a flag, or a command's positional arguments, as holding a
// hash (a transaction hash, a completion hash, a signature): 64 hex digits there are
// what the operator means to see, not a key typed in the wrong place.
const annotationHash = "vrwxctl/holds-hash"

// HoldsHash marks the named flags of cmd as holding a hash (see RegisterInput).
func HoldsHash(cmd *cobra.Command, flags ...string) {
	for _, name := range flags {
		_ = cmd.Flags().SetAnnotation(name, annotationHash, []string{"yes"})
	}
}

// ArgsHoldHashes marks cmd's positional arguments as hashes (tx status HASH).
func ArgsHoldHashes(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationHash] = "yes"
}

// RegisterInput registers with the scrubber every run of 64 or more hex digits the
// user typed for cmd — in every flag given and every positional argument — except
// in the fields that hold hashes, so whatever message or output repeats such a value
// shows it redacted (redact.RegisterInput). The root runs it once parsing succeeded;
// when parsing fails, cli.Run registers the whole command line instead.
func RegisterInput(cmd *cobra.Command, args []string) {
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if _, hash := f.Annotations[annotationHash]; hash {
			return
		}
		if s, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range s.GetSlice() {
				redact.RegisterInput(v)
			}
			return
		}
		redact.RegisterInput(f.Value.String())
	})
	if cmd.Annotations[annotationHash] == "yes" {
		return
	}
	for _, a := range args {
		redact.RegisterInput(a)
	}
}

// RegisterArgs is RegisterInput for a command line that did not parse: the command
// it names (as far as it names one) says which flags and arguments hold hashes,
// and everything else typed is registered with the scrubber before the parse
// error repeats any of it.
func RegisterArgs(root *cobra.Command, args []string) {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		cmd = root
	}
	lookup := func(name string, short bool) *pflag.Flag {
		for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.InheritedFlags()} {
			if short {
				if f := fs.ShorthandLookup(name); f != nil {
					return f
				}
			} else if f := fs.Lookup(name); f != nil {
				return f
			}
		}
		return nil
	}
	holdsHash := func(f *pflag.Flag) bool {
		_, ok := f.Annotations[annotationHash]
		return ok
	}
	argsHash := cmd.Annotations[annotationHash] == "yes"
	for i := 0; i < len(args); i++ {
		a := args[i]
		var f *pflag.Flag
		switch {
		case a == "--":
			for _, rest := range args[i+1:] {
				if !argsHash {
					redact.RegisterInput(rest)
				}
			}
			return
		case strings.HasPrefix(a, "--"):
			name, _, eq := strings.Cut(a[2:], "=")
			if f = lookup(name, false); f != nil && holdsHash(f) {
				if !eq && f.NoOptDefVal == "" {
					i++
				}
				continue
			}
		case strings.HasPrefix(a, "-") && len(a) == 2:
			if f = lookup(a[1:], true); f != nil && holdsHash(f) {
				if f.NoOptDefVal == "" {
					i++
				}
				continue
			}
		case !strings.HasPrefix(a, "-") && argsHash:
			continue
		}
		redact.RegisterInput(a)
	}
}

// Package key implements `vrwxctl key`: generate a relayer key straight into a
// secret store, show the address behind a reference, list, promote and roll back
// versions — printing addresses only, never a key.
package key

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdKey returns the `key` group.
func NewCmdKey(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Relayer keys in their stores: generate, address, versions, promote, rollback",
		Long: `Manage relayer keys where they live — AWS Secrets Manager, Vault KV v2, an encrypted
keystore or a 0600 file — by reference. No command takes a key as an argument, and
none prints one: only addresses and version ids.

References:
  ` + strings.ReplaceAll(secrets.RefForms, ", ", "\n  "),
	}
	cmd.AddCommand(newCmdGenerate(f), newCmdAddress(f), newCmdVersions(f), newCmdPromote(f), newCmdRollback(f), newCmdDiscard(f))
	return cmd
}

// VersionJSON is one version in `key versions -o json` and other key output.
type VersionJSON struct {
	ID      string   `json:"id"`
	Stages  []string `json:"stages"`
	Created string   `json:"created,omitempty"`
	Address string   `json:"address"`
	Problem string   `json:"problem,omitempty"`
}

func toJSON(v secrets.Version) VersionJSON {
	j := VersionJSON{ID: v.ID, Stages: v.Stages, Address: v.Address.Hex(), Problem: v.Problem}
	if j.Stages == nil {
		j.Stages = []string{}
	}
	if !v.Created.IsZero() {
		j.Created = v.Created.UTC().Format(time.RFC3339)
	}
	return j
}

func open(ctx context.Context, f *cmdutil.Factory, flag, ref string) (secrets.Store, error) {
	if ref == "" {
		return nil, errs.Usagef("%s is required: a reference such as %s", flag, secrets.RefForms)
	}
	return secrets.Open(ctx, ref, f.SecretsOptions())
}

func run(f *cmdutil.Factory, fn func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, cancel := f.Context(cmd.Context())
		defer cancel()
		return fn(ctx)
	}
}

// GenerateJSON is the -o json shape of key generate.
type GenerateJSON struct {
	Address string      `json:"address"`
	Store   string      `json:"store"`
	Version VersionJSON `json:"version"`
	DryRun  bool        `json:"dryRun"`
}

func newCmdGenerate(f *cmdutil.Factory) *cobra.Command {
	var store string
	var promote bool
	cmd := &cobra.Command{
		Use:   "generate --store REF",
		Short: "Create a new key with crypto/rand inside its store; print only its address",
		Long: `Generate a secp256k1 key with crypto/rand and write it straight into the store, as a
*pending* version next to the current one (AWS: stage AWSPENDING; Vault: a new version
marked pending in custom_metadata; files: PATH.pending). The current key is not
replaced: the relayer keeps running on it until ` + "`vrwxctl key promote`" + `.
--promote makes the new key current at once (old current becomes previous). In an
empty store the first key is current at once, as AWS does.

The key never leaves the process except into the store: only its address is printed.`,
		Example: `  # Runbook step 1: a new relayer key, generated where it will live
  vrwxctl key generate --store aws-sm://vrwx/prod/relayer-key
  vrwxctl key generate --store vault://secret/vrwx/prod/relayer
  vrwxctl key generate --store file:///etc/vrwx/relayer.hex`,
		Args: cmdutil.ExactArgs(0),
		RunE: run(f, func(ctx context.Context) error {
			s, err := open(ctx, f, "--store", store)
			if err != nil {
				return err
			}
			k, err := secrets.Generate()
			if err != nil {
				return errs.Failedf("generate a key").Wrap(err)
			}
			out := GenerateJSON{Address: k.Address().Hex(), Store: s.Ref().String(), DryRun: f.Globals.DryRun}
			if f.Globals.DryRun {
				f.IO.Successf("dry run: a key would be written to %s as pending; nothing was written", out.Store)
				return write(f.IO, out)
			}
			v, err := s.WritePending(ctx, k)
			if err != nil {
				return err
			}
			if promote && !v.Has(secrets.StageCurrent) {
				if err := s.Promote(ctx, v.ID); err != nil {
					return err
				}
				v.Stages = []string{secrets.StageCurrent}
			}
			out.Version = toJSON(v)
			f.IO.Successf("new key %s written to %s as version %s (%s)", out.Address, out.Store, v.ID, strings.Join(v.Stages, ", "))
			if v.Has(secrets.StagePending) {
				f.IO.Infof("  next: fund it (vrwxctl wallet fund --to %s …), then `vrwxctl key promote --store %s`", out.Address, out.Store)
			}
			return write(f.IO, out)
		}),
	}
	cmd.Flags().StringVar(&store, "store", "", "where the key is written (aws-sm://, vault://, keystore://, file://)")
	cmd.Flags().BoolVar(&promote, "promote", false, "make the new key current at once")
	return cmd
}

func write(io *ui.IO, out GenerateJSON) error {
	if io.JSONOutput() {
		return io.WriteJSON(out)
	}
	fmt.Fprintln(io.Out, out.Address)
	return nil
}

func newCmdAddress(f *cmdutil.Factory) *cobra.Command {
	var ref string
	cmd := &cobra.Command{
		Use:   "address --signer REF",
		Short: "Print the address of the current key behind a reference (cast wallet address)",
		Example: `  # Runbook step 1's check, without the key in argv
  vrwxctl key address --signer aws-sm://vrwx/prod/relayer-key
  vrwxctl key address --signer env://RELAYER_PRIVATE_KEY`,
		Args: cmdutil.ExactArgs(0),
		RunE: run(f, func(ctx context.Context) error {
			if ref == "" {
				return errs.Usagef("--signer is required: a reference such as %s", secrets.RefForms)
			}
			a, err := f.SignerAddress(ctx, ref)
			if err != nil {
				return err
			}
			if f.IO.JSONOutput() {
				return f.IO.WriteJSON(map[string]string{"address": a.Hex()})
			}
			fmt.Fprintln(f.IO.Out, a.Hex())
			return nil
		}),
	}
	cmd.Flags().StringVar(&ref, "signer", "", "signer reference")
	return cmd
}

func newCmdVersions(f *cmdutil.Factory) *cobra.Command {
	var store string
	cmd := &cobra.Command{
		Use:     "versions --store REF",
		Short:   "List a store's key versions: id, stages, created, address (never the key)",
		Example: `  vrwxctl key versions --store aws-sm://vrwx/prod/relayer-key`,
		Args:    cmdutil.ExactArgs(0),
		RunE: run(f, func(ctx context.Context) error {
			s, err := open(ctx, f, "--store", store)
			if err != nil {
				return err
			}
			vs, err := s.Versions(ctx)
			if err != nil {
				return err
			}
			out := make([]VersionJSON, 0, len(vs))
			for _, v := range vs {
				out = append(out, toJSON(v))
			}
			if f.IO.JSONOutput() {
				return f.IO.WriteJSON(out)
			}
			t := ui.NewTable("VERSION", "STAGES", "CREATED", "ADDRESS")
			for _, v := range out {
				addr := v.Address
				if v.Problem != "" {
					addr = v.Problem
				}
				t.Row(v.ID, strings.Join(v.Stages, ","), v.Created, addr)
			}
			t.Render(f.IO.Out, f.IO.Styles())
			return nil
		}),
	}
	cmd.Flags().StringVar(&store, "store", "", "store reference")
	return cmd
}

func newCmdPromote(f *cmdutil.Factory) *cobra.Command {
	var store, version string
	cmd := &cobra.Command{
		Use:   "promote --store REF [--version ID]",
		Short: "Make the pending key current (runbook step 3); the old current becomes previous",
		Long: `Promote the pending version (or --version) to current. AWS: AWSCURRENT moves to it and
AWSPREVIOUS to the old one; Vault: the vrwxctl_current marker moves; files: PATH is
replaced atomically and the old key kept as PATH.previous. Safe to repeat.`,
		Example: `  vrwxctl key promote --store aws-sm://vrwx/prod/relayer-key --yes`,
		Args:    cmdutil.ExactArgs(0),
		RunE: run(f, func(ctx context.Context) error {
			s, err := open(ctx, f, "--store", store)
			if err != nil {
				return err
			}
			id := version
			var addr string
			if id == "" {
				_, v, err := s.ReadPending(ctx)
				if err != nil {
					return err
				}
				id, addr = v.ID, v.Address.Hex()
			}
			if f.Globals.DryRun {
				f.IO.Successf("dry run: version %s %s would become current in %s", id, addr, s.Ref())
				return nil
			}
			if !f.Globals.Yes {
				if err := f.IO.Confirm(fmt.Sprintf("Make version %s %s the current key of %s?", id, addr, s.Ref())); err != nil {
					return err
				}
			}
			if err := s.Promote(ctx, id); err != nil {
				return err
			}
			f.IO.Successf("version %s is now current in %s", id, s.Ref())
			return nil
		}),
	}
	cmd.Flags().StringVar(&store, "store", "", "store reference")
	cmd.Flags().StringVar(&version, "version", "", "version to promote (default: the pending one)")
	return cmd
}

// newCmdStoreChange is a confirmed, one-call change of a store's stages.
func newCmdStoreChange(f *cmdutil.Factory, use, short, example, question, done string, change func(context.Context, secrets.Store) error) *cobra.Command {
	var store string
	cmd := &cobra.Command{
		Use:     use + " --store REF",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(0),
		RunE: run(f, func(ctx context.Context) error {
			s, err := open(ctx, f, "--store", store)
			if err != nil {
				return err
			}
			if !f.Globals.Yes {
				if err := f.IO.Confirm(fmt.Sprintf(question, s.Ref())); err != nil {
					return err
				}
			}
			if err := change(ctx, s); err != nil {
				return err
			}
			f.IO.Successf(done, s.Ref())
			return nil
		}),
	}
	cmd.Flags().StringVar(&store, "store", "", "store reference")
	return cmd
}

func newCmdRollback(f *cmdutil.Factory) *cobra.Command {
	return newCmdStoreChange(f, "rollback", "Make the previous key current again (undo a promote)",
		`  vrwxctl key rollback --store aws-sm://vrwx/prod/relayer-key --yes`,
		"Roll %s back to its previous key?", "%s is back on its previous key",
		func(ctx context.Context, s secrets.Store) error { return s.Rollback(ctx) })
}

func newCmdDiscard(f *cmdutil.Factory) *cobra.Command {
	return newCmdStoreChange(f, "discard-pending", "Drop the pending key (a generate that will not be promoted)",
		`  vrwxctl key discard-pending --store vault://secret/vrwx/prod/relayer --yes`,
		"Discard the pending key of %s?", "pending key of %s discarded",
		func(ctx context.Context, s secrets.Store) error { return s.DiscardPending(ctx) })
}

// Package key implements `vrwxctl key`: generate a relayer key straight into a
// secret store, show the address behind a reference, list, promote and roll back
// versions — printing addresses only, never a key.
package key

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/spf13/cobra"
	"github.com/vrwx/vrwxctl/pkg/audit"
	"github.com/vrwx/vrwxctl/pkg/cli/cmdutil"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/keyops"
	"github.com/vrwx/vrwxctl/pkg/secrets"
	"github.com/vrwx/vrwxctl/pkg/ui"
)

// NewCmdKey returns the `key` group.
func NewCmdKey(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Relayer keys in their stores: generate, address, versions, promote, rollback, rotate",
		Long: `Manage relayer keys where they live — AWS Secrets Manager, Vault KV v2, an encrypted
keystore or a 0600 file — by reference. No command takes a key as an argument, and
none prints one: only addresses and version ids. ` + "`vrwxctl key rotate`" + ` runs the whole
rotation (generate, fund, promote, restart, verify, drain), resumably.

References:
  ` + strings.ReplaceAll(secrets.RefForms, ", ", "\n  ") + `

Versions: a reference names the store's current key; ?stage= or ?version= names
another version, for reading (every --signer takes one), never for writing:
  aws-sm://vrwx/prod/relayer-key?stage=previous      the key before the last promote
  aws-sm://vrwx/prod/relayer-key?stage=AWSPREVIOUS   the same, in AWS's words (also AWSPENDING, AWSCURRENT)
  aws-sm://vrwx/prod/relayer-key?version=VERSION_ID  one AWS version by its VersionId
  vault://secret/vrwx/prod/relayer?version=3         Vault KV v2 version 3
  vault://secret/vrwx/prod/relayer?stage=pending     the version written but not promoted
  file:///etc/vrwx/relayer.hex?stage=previous        PATH.previous (keystore:// alike)
  file:///etc/vrwx/relayer.hex?version=0xADDRESS     the version holding that address's key
` + "`vrwxctl key versions --store REF`" + ` lists the ids.`,
	}
	cmd.AddCommand(NewCmdGenerate(f, nil), NewCmdAddress(f, nil), NewCmdVersions(f, nil), NewCmdPromote(f, nil), NewCmdRollback(f, nil), NewCmdDiscardPending(f, nil), NewCmdRotate(f, nil))
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

// openStore opens the store behind ref; an empty ref is bad input naming flag.
func openStore(ctx context.Context, open func(context.Context, string) (secrets.Store, error), flag, ref string) (secrets.Store, error) {
	if ref == "" {
		return nil, errs.Usagef("%s is required: a reference such as %s", flag, secrets.RefForms)
	}
	return open(ctx, ref)
}

// storeOpener opens secret stores with the factory's environment.
func storeOpener(f *cmdutil.Factory) func(context.Context, string) (secrets.Store, error) {
	return func(ctx context.Context, ref string) (secrets.Store, error) {
		return secrets.Open(ctx, ref, f.SecretsOptions())
	}
}

// GenerateJSON is the -o json shape of key generate. A dry run generates no key, so
// it has no address.
type GenerateJSON struct {
	Address string      `json:"address,omitempty"`
	Store   string      `json:"store"`
	Version VersionJSON `json:"version"`
	DryRun  bool        `json:"dryRun"`
}

// GenerateOptions are the inputs of key generate.
type GenerateOptions struct {
	IO        *ui.IO
	OpenStore func(ctx context.Context, ref string) (secrets.Store, error)
	Context   func(context.Context) (context.Context, context.CancelFunc)
	Audit     *audit.Log
	DryRun    bool
	Yes       bool

	Store   string
	Promote bool
}

// NewCmdGenerate returns `key generate`.
func NewCmdGenerate(f *cmdutil.Factory, runF func(context.Context, *GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{IO: f.IO, OpenStore: storeOpener(f), Context: f.Context, Audit: f.AuditLog()}
	cmd := &cobra.Command{
		Use:   "generate --store REF",
		Short: "Create a new key with crypto/rand inside its store; print only its address",
		Long: `Generate a secp256k1 key with crypto/rand and write it straight into the store, as a
*pending* version next to the current one (AWS: stage AWSPENDING; Vault: a new version
marked pending in custom_metadata; files: PATH.pending). The current key is not
replaced: the relayer keeps running on it until ` + "`vrwxctl key promote`" + `.
--promote makes the new key current at once (old current becomes previous) — the
same change as key promote, so it asks first (--yes without a terminal). In an empty
store the first key is current at once, as AWS does. --dry-run generates no key and
writes nothing, so it prints no address.

The key never leaves the process except into the store: only its address is printed.`,
		Example: `  # Runbook step 1: a new relayer key, generated where it will live
  vrwxctl key generate --store aws-sm://vrwx/prod/relayer-key
  vrwxctl key generate --store vault://secret/vrwx/prod/relayer
  vrwxctl key generate --store file:///etc/vrwx/relayer.hex`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, generateRun)
		},
	}
	cmd.Flags().StringVar(&opts.Store, "store", "", "where the key is written (aws-sm://, vault://, keystore://, file://)")
	cmd.Flags().BoolVar(&opts.Promote, "promote", false, "make the new key current at once (asks first; --yes without a terminal)")
	return cmd
}

func generateRun(ctx context.Context, opts *GenerateOptions) error {
	s, err := openStore(ctx, opts.OpenStore, "--store", opts.Store)
	if err != nil {
		return err
	}
	out := GenerateJSON{Store: s.Ref().String(), DryRun: opts.DryRun}
	change := keyops.Change{Store: s, Audit: opts.Audit, Command: "key generate", DryRun: opts.DryRun, Warnf: opts.IO.Warnf}
	if opts.Promote {
		change.Command = "key generate --promote"
		if !opts.Yes {
			change.Confirm = func() error { return confirmGeneratePromote(opts.IO, out.Store) }
		}
	}
	v, addr, err := change.Generate(ctx, opts.Promote)
	if err != nil {
		return err
	}
	if opts.DryRun {
		// No key is generated: an address whose key is thrown away is one nobody
		// should fund.
		what := "written as pending"
		if opts.Promote {
			what = "written and made current at once"
		}
		opts.IO.Successf("dry run: a new key would be generated and %s in %s; none was generated and nothing was written, so there is no address", what, out.Store)
		return write(opts.IO, out)
	}
	out.Address, out.Version = addr.Hex(), toJSON(v)
	opts.IO.Successf("new key %s written to %s as version %s (%s)", out.Address, out.Store, v.ID, strings.Join(v.Stages, ", "))
	if v.Has(secrets.StagePending) {
		opts.IO.Infof("  next: fund it (vrwxctl wallet fund --to %s …), then `vrwxctl key promote --store %s`", out.Address, out.Store)
	}
	return write(opts.IO, out)
}

// confirmGeneratePromote takes the same rail as key promote: a new key has no
// funds, and making it current points the relayer at it.
func confirmGeneratePromote(io *ui.IO, store string) error {
	st := io.ErrStyles()
	fmt.Fprintln(io.ErrOut, st.Bold.Render("Key change"))
	var fl ui.Fields
	fl.Row("store", store)
	fl.Row("change", "a new key is generated and becomes the current key at once; the current key becomes previous")
	fl.Warn("warning", "the new key holds no ETH: the relayer cannot send until it is funded")
	io.RenderFields(&fl)
	return io.Confirm(fmt.Sprintf("Generate a new key and make it current in %s?", store))
}

func write(io *ui.IO, out GenerateJSON) error {
	if io.JSONOutput() {
		return io.WriteJSON(out)
	}
	if out.Address != "" {
		fmt.Fprintln(io.Out, out.Address)
	}
	return nil
}

// AddressOptions are the inputs of key address.
type AddressOptions struct {
	IO            *ui.IO
	SignerAddress func(ctx context.Context, ref string) (common.Address, error)
	Context       func(context.Context) (context.Context, context.CancelFunc)

	Signer string
}

// NewCmdAddress returns `key address`.
func NewCmdAddress(f *cmdutil.Factory, runF func(context.Context, *AddressOptions) error) *cobra.Command {
	opts := &AddressOptions{IO: f.IO, SignerAddress: f.SignerAddress, Context: f.Context}
	cmd := &cobra.Command{
		Use:   "address --signer REF",
		Short: "Print the address of the current key behind a reference (cast wallet address)",
		Example: `  # Runbook step 1's check, without the key in argv
  vrwxctl key address --signer aws-sm://vrwx/prod/relayer-key
  vrwxctl key address --signer env://RELAYER_PRIVATE_KEY`,
		Args: cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, addressRun)
		},
	}
	cmd.Flags().StringVar(&opts.Signer, "signer", "", "signer reference (?stage=previous|pending or ?version=ID names another version)")
	return cmd
}

func addressRun(ctx context.Context, opts *AddressOptions) error {
	if opts.Signer == "" {
		return errs.Usagef("--signer is required: a reference such as %s", secrets.RefForms)
	}
	a, err := opts.SignerAddress(ctx, opts.Signer)
	if err != nil {
		return err
	}
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(map[string]string{"address": a.Hex()})
	}
	fmt.Fprintln(opts.IO.Out, a.Hex())
	return nil
}

// VersionsOptions are the inputs of key versions.
type VersionsOptions struct {
	IO        *ui.IO
	OpenStore func(ctx context.Context, ref string) (secrets.Store, error)
	Context   func(context.Context) (context.Context, context.CancelFunc)

	Store string
}

// NewCmdVersions returns `key versions`.
func NewCmdVersions(f *cmdutil.Factory, runF func(context.Context, *VersionsOptions) error) *cobra.Command {
	opts := &VersionsOptions{IO: f.IO, OpenStore: storeOpener(f), Context: f.Context}
	cmd := &cobra.Command{
		Use:     "versions --store REF",
		Short:   "List a store's key versions: id, stages, created, address (never the key)",
		Example: `  vrwxctl key versions --store aws-sm://vrwx/prod/relayer-key`,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, versionsRun)
		},
	}
	cmd.Flags().StringVar(&opts.Store, "store", "", "store reference")
	return cmd
}

func versionsRun(ctx context.Context, opts *VersionsOptions) error {
	s, err := openStore(ctx, opts.OpenStore, "--store", opts.Store)
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
	if opts.IO.JSONOutput() {
		return opts.IO.WriteJSON(out)
	}
	t := ui.NewTable("VERSION", "STAGES", "CREATED", "ADDRESS")
	for _, v := range out {
		addr := v.Address
		if v.Problem != "" {
			addr = v.Problem
		}
		t.Row(v.ID, strings.Join(v.Stages, ","), v.Created, addr)
	}
	if len(out) == 0 {
		opts.IO.Infof("no key versions in %s: nothing is stored there yet (create the first with `vrwxctl key generate --store %s`)", s.Ref().Shown(), s.Ref().Shown())
		return nil
	}
	opts.IO.RenderTable(t)
	return nil
}

// PromoteOptions are the inputs of key promote.
type PromoteOptions struct {
	IO        *ui.IO
	OpenStore func(ctx context.Context, ref string) (secrets.Store, error)
	Context   func(context.Context) (context.Context, context.CancelFunc)
	Audit     *audit.Log
	DryRun    bool
	Yes       bool

	Store   string
	Version string
}

// NewCmdPromote returns `key promote`.
func NewCmdPromote(f *cmdutil.Factory, runF func(context.Context, *PromoteOptions) error) *cobra.Command {
	opts := &PromoteOptions{IO: f.IO, OpenStore: storeOpener(f), Context: f.Context, Audit: f.AuditLog()}
	cmd := &cobra.Command{
		Use:   "promote --store REF [--version ID]",
		Short: "Make the pending key current (runbook step 3); the old current becomes previous",
		Long: `Promote the pending version (or --version) to current. AWS: AWSCURRENT moves to it and
AWSPREVIOUS to the old one; Vault: the vrwxctl_current marker moves; files: PATH is
replaced atomically and the old key kept as PATH.previous. Safe to repeat.`,
		Example: `  vrwxctl key promote --store aws-sm://vrwx/prod/relayer-key --yes`,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, promoteRun)
		},
	}
	cmd.Flags().StringVar(&opts.Store, "store", "", "store reference")
	cmd.Flags().StringVar(&opts.Version, "version", "", "version to promote (default: the pending one)")
	return cmd
}

func promoteRun(ctx context.Context, opts *PromoteOptions) error {
	s, err := openStore(ctx, opts.OpenStore, "--store", opts.Store)
	if err != nil {
		return err
	}
	id := opts.Version
	var addr string
	if id == "" {
		_, v, err := s.ReadPending(ctx)
		if err != nil {
			return err
		}
		id, addr = v.ID, v.Address.Hex()
	}
	change := keyops.Change{Store: s, Audit: opts.Audit, Command: "key promote", DryRun: opts.DryRun, Warnf: opts.IO.Warnf}
	if !opts.Yes {
		change.Confirm = func() error {
			return opts.IO.Confirm(fmt.Sprintf("Make version %s %s the current key of %s?", id, addr, s.Ref()))
		}
	}
	if err := change.Promote(ctx, id, addr); err != nil {
		return err
	}
	if opts.DryRun {
		opts.IO.Successf("dry run: version %s %s would become current in %s", id, addr, s.Ref())
		return nil
	}
	opts.IO.Successf("version %s is now current in %s", id, s.Ref())
	return nil
}

// StoreChangeOptions are the inputs of key rollback and key discard-pending: one
// confirmed change of a store's stages.
type StoreChangeOptions struct {
	IO        *ui.IO
	OpenStore func(ctx context.Context, ref string) (secrets.Store, error)
	Context   func(context.Context) (context.Context, context.CancelFunc)
	Audit     *audit.Log
	// Command names the operation in the audit log ("key rollback").
	Command string
	DryRun  bool
	Yes     bool

	Store string
	// Question, Done and Change say what the command does; Done and Question take
	// the store's reference.
	Question, Done, DryRunDone string
	Change                     func(context.Context, keyops.Change) error
}

func newCmdStoreChange(f *cmdutil.Factory, runF func(context.Context, *StoreChangeOptions) error, use, short, example string, opts *StoreChangeOptions) *cobra.Command {
	opts.IO, opts.OpenStore, opts.Context, opts.Audit, opts.Command = f.IO, storeOpener(f), f.Context, f.AuditLog(), "key "+use
	cmd := &cobra.Command{
		Use:     use + " --store REF",
		Short:   short,
		Example: example,
		Args:    cmdutil.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DryRun, opts.Yes = f.Globals.DryRun, f.Globals.Yes
			return cmdutil.Run(cmd.Context(), opts.Context, opts, runF, storeChangeRun)
		},
	}
	cmd.Flags().StringVar(&opts.Store, "store", "", "store reference")
	return cmd
}

func storeChangeRun(ctx context.Context, opts *StoreChangeOptions) error {
	s, err := openStore(ctx, opts.OpenStore, "--store", opts.Store)
	if err != nil {
		return err
	}
	// --dry-run changes nothing: a rollback is as much a write as a promote.
	change := keyops.Change{Store: s, Audit: opts.Audit, Command: opts.Command, DryRun: opts.DryRun, Warnf: opts.IO.Warnf}
	if !opts.Yes {
		change.Confirm = func() error { return opts.IO.Confirm(fmt.Sprintf(opts.Question, s.Ref())) }
	}
	if err := opts.Change(ctx, change); err != nil {
		return err
	}
	if opts.DryRun {
		opts.IO.Successf(opts.DryRunDone, s.Ref())
		return nil
	}
	opts.IO.Successf(opts.Done, s.Ref())
	return nil
}

// NewCmdRollback returns `key rollback`.
func NewCmdRollback(f *cmdutil.Factory, runF func(context.Context, *StoreChangeOptions) error) *cobra.Command {
	return newCmdStoreChange(f, runF, "rollback", "Make the previous key current again (undo a promote)",
		`  vrwxctl key rollback --store aws-sm://vrwx/prod/relayer-key --yes`,
		&StoreChangeOptions{Question: "Roll %s back to its previous key?", Done: "%s is back on its previous key",
			DryRunDone: "dry run: %s would go back to its previous key; nothing was changed",
			Change:     func(ctx context.Context, c keyops.Change) error { return c.Rollback(ctx, "", "") }})
}

// NewCmdDiscardPending returns `key discard-pending`.
func NewCmdDiscardPending(f *cmdutil.Factory, runF func(context.Context, *StoreChangeOptions) error) *cobra.Command {
	return newCmdStoreChange(f, runF, "discard-pending", "Drop the pending key (a generate that will not be promoted)",
		`  vrwxctl key discard-pending --store vault://secret/vrwx/prod/relayer --yes`,
		&StoreChangeOptions{Question: "Discard the pending key of %s?", Done: "pending key of %s discarded",
			DryRunDone: "dry run: the pending key of %s would be discarded; nothing was changed",
			Change:     func(ctx context.Context, c keyops.Change) error { return c.DiscardPending(ctx, "", "") }})
}

package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"go.yaml.in/yaml/v3"
)

// Options are the inputs of Load besides the file system.
type Options struct {
	// ConfigPath is --config; empty means VRWXCTL_CONFIG, then DefaultFile.
	ConfigPath string
	// Profile is --profile; empty means VRWX_PROFILE, then the file's default_profile, then "local".
	Profile string
	// LookupEnv reads the environment: the runbook's variables, VRWX_PROFILE,
	// VRWXCTL_CONFIG and the XDG/HOME directories. nil means an empty environment;
	// the package never reads the process environment itself.
	LookupEnv LookupEnv
	// Flags holds settings given as flags, by key name (e.g. "rpc_urls").
	Flags map[string]string
	// FlagNames maps a key to the flag that set it, for config view ("--rpc-url").
	FlagNames map[string]string
}

// File is the parsed config file.
type File struct {
	Path           string
	DefaultProfile string
	Profiles       map[string]FileProfile
}

// FileProfile is one profile from the config file.
type FileProfile struct {
	Extends string
	Values  map[string]string
	Line    int
}

func (o *Options) env(name string) (string, bool) {
	if o.LookupEnv == nil {
		return "", false
	}
	return o.LookupEnv(name)
}

// configPath returns the file to read and whether it was asked for explicitly.
func (o *Options) configPath() (string, bool) {
	if o.ConfigPath != "" {
		return o.ConfigPath, true
	}
	if p, ok := o.env("VRWXCTL_CONFIG"); ok && p != "" {
		return p, true
	}
	return DefaultFile(o.LookupEnv), false
}

// ReadFile loads the config file named by the options. A missing default file is not
// an error (nil, nil); a missing explicit one is.
func ReadFile(o Options) (*File, error) {
	path, explicit := o.configPath()
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		// The path is what the operator typed; the error's own text quotes it again.
		why := "cannot be read"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			why = "does not exist"
		case errors.Is(err, fs.ErrPermission):
			why = "cannot be read (permission denied)"
		case isDir(path):
			why = "is a directory"
		}
		return nil, errs.Usagef("config file %s %s", redact.Mask(path), why).WithFix("check --config / VRWXCTL_CONFIG")
	}
	return ParseFile(path, data)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// ParseFile parses a config file's YAML. Errors name the file and line.
func ParseFile(path string, data []byte) (*File, error) {
	f := &File{Path: path, Profiles: map[string]FileProfile{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The parser quotes what it could not read: masked by shape.
		return nil, errs.Usagef("config file %s does not parse: %s", redact.Mask(path), redact.MaskText(err.Error())).
			WithFix("fix the YAML at that line; `vrwxctl config view` shows the result")
	}
	registerScalars(&doc)
	if len(doc.Content) == 0 {
		return f, nil
	}
	root := doc.Content[0]
	bad := func(n *yaml.Node, format string, args ...any) error {
		return errs.Usagef("config file %s, line %d: %s", redact.Mask(path), n.Line, fmt.Sprintf(format, args...))
	}
	if root.Kind != yaml.MappingNode {
		return nil, bad(root, "expected a mapping with default_profile and profiles")
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "default_profile":
			if v.Kind != yaml.ScalarNode {
				return nil, bad(v, "default_profile must be a profile name")
			}
			f.DefaultProfile = v.Value
		case "profiles":
			if v.Kind != yaml.MappingNode {
				return nil, bad(v, "profiles must be a mapping of profile name to settings")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, body := v.Content[j], v.Content[j+1]
				p, err := parseProfile(path, body)
				if err != nil {
					return nil, err
				}
				p.Line = name.Line
				f.Profiles[name.Value] = p
			}
		default:
			return nil, bad(k, "unknown key %s (expected default_profile or profiles)", redact.Quote(k.Value))
		}
	}
	return f, nil
}

// registerScalars registers every value and key the file holds with the scrubber
// (redact.RegisterInput): a key pasted into the file is shown redacted by whatever
// repeats it — config view, an error naming the value, a path built from it.
func registerScalars(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		redact.RegisterInput(n.Value)
	}
	for _, c := range n.Content {
		registerScalars(c)
	}
}

func parseProfile(path string, body *yaml.Node) (FileProfile, error) {
	p := FileProfile{Values: map[string]string{}}
	bad := func(n *yaml.Node, format string, args ...any) error {
		return errs.Usagef("config file %s, line %d: %s", redact.Mask(path), n.Line, fmt.Sprintf(format, args...))
	}
	if body.Kind != yaml.MappingNode {
		return p, bad(body, "a profile must be a mapping of settings")
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], body.Content[i+1]
		if k.Value == "extends" {
			p.Extends = v.Value
			continue
		}
		key, ok := keyByName(k.Value)
		if !ok {
			return p, bad(k, "unknown setting %s (expected one of: extends, %s)", redact.Quote(k.Value), keyNames())
		}
		switch v.Kind {
		case yaml.ScalarNode:
			p.Values[key.Name] = v.Value
		case yaml.SequenceNode:
			if key.kind != kURLList {
				return p, bad(v, "%s takes one value, not a list", key.Name)
			}
			var items []string
			for _, it := range v.Content {
				if it.Kind != yaml.ScalarNode {
					return p, bad(it, "%s items must be URLs", key.Name)
				}
				items = append(items, it.Value)
			}
			p.Values[key.Name] = strings.Join(items, ",")
		default:
			return p, bad(v, "%s must be a value", key.Name)
		}
		if err := validate(key, Setting{Key: key.Name, Value: p.Values[key.Name], Source: SrcFile, Detail: path}); err != nil {
			return p, bad(v, "%v", err)
		}
	}
	return p, nil
}

// keyNames lists the settings a profile can hold.
func keyNames() string {
	names := make([]string, len(Keys))
	for i, k := range Keys {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// envKeys maps environment variables to keys.
func envKeys() map[string]string {
	m := map[string]string{}
	for _, k := range Keys {
		if k.Env != "" {
			m[k.Env] = k.Name
		}
	}
	return m
}

// Load resolves the configuration: built-in defaults < built-in profile < local
// deployment file < config file profile < environment < flags.
func Load(o Options) (*Config, error) {
	f, err := ReadFile(o)
	if err != nil {
		return nil, err
	}
	return load(o, f, true)
}

// load is Load with the config file already read (nil when there is none).
// overlayEnv false leaves out the environment's settings (not its directories).
func load(o Options, f *File, overlayEnv bool) (*Config, error) {
	named, _ := o.env("VRWXCTL_DEPLOYMENT")
	c := &Config{values: map[string]Setting{}, deployment: LocalDeploymentFile(o.LookupEnv), deploymentDiscovered: named == ""}
	c.SearchedFile, _ = o.configPath()
	if f != nil {
		c.File = f.Path
	}
	c.Profile, c.ProfileSource = o.Profile, SrcFlag
	if c.Profile == "" {
		if p, ok := o.env("VRWX_PROFILE"); ok && p != "" {
			c.Profile, c.ProfileSource = p, SrcEnv
		} else if f != nil && f.DefaultProfile != "" {
			c.Profile, c.ProfileSource = f.DefaultProfile, SrcFile
		} else {
			c.Profile, c.ProfileSource = DefaultProfile, SrcBuiltin
		}
	}
	set := func(key, value string, src Source, detail string) {
		c.values[key] = Setting{Key: key, Value: value, Source: src, Detail: detail}
	}
	for k, v := range defaults {
		set(k, v, SrcBuiltin, "")
	}
	if err := c.applyProfile(f, c.Profile, set, 0); err != nil {
		return nil, err
	}
	for env, key := range envKeys() {
		if !overlayEnv {
			break
		}
		if v, ok := o.env(env); ok && v != "" {
			s := Setting{Key: key, Value: v, Source: SrcEnv, Detail: env}
			k, _ := keyByName(key)
			if err := validate(k, s); err != nil {
				return nil, err
			}
			c.values[key] = s
		}
	}
	for key, v := range o.Flags {
		k, ok := keyByName(key)
		if !ok {
			return nil, fmt.Errorf("config: flag for unknown key %q", key)
		}
		s := Setting{Key: key, Value: v, Source: SrcFlag, Detail: o.FlagNames[key]}
		if err := validate(k, s); err != nil {
			return nil, err
		}
		c.values[key] = s
	}
	return c, nil
}

func (c *Config) applyProfile(f *File, name string, set func(k, v string, s Source, d string), depth int) error {
	if depth > 8 {
		return errs.Usagef("profile %s: extends chain is too deep or circular", redact.Quote(name))
	}
	var fp *FileProfile
	if f != nil {
		if p, ok := f.Profiles[name]; ok {
			fp = &p
		}
	}
	base, isBuiltin := builtin[name]
	if fp == nil && !isBuiltin {
		return errs.Usagef("unknown profile %s (expected one of: %s)", redact.Quote(name), strings.Join(c.profileNames(f), ", ")).
			WithFix("`vrwxctl config profiles` lists them; add new ones to the config file")
	}
	if fp != nil && fp.Extends != "" {
		if err := c.applyProfile(f, fp.Extends, set, depth+1); err != nil {
			return err
		}
	}
	if isBuiltin {
		for k, v := range base {
			set(k, v, SrcBuiltin, "")
		}
		if name == "local" {
			if err := applyDeployment(c.deployment, c.deploymentDiscovered, set); err != nil {
				return err
			}
		}
	}
	if fp != nil {
		for k, v := range fp.Values {
			set(k, v, SrcFile, f.Path)
		}
	}
	return nil
}

func (c *Config) profileNames(f *File) []string {
	names := map[string]bool{}
	for n := range builtin {
		names[n] = true
	}
	if f != nil {
		for n := range f.Profiles {
			names[n] = true
		}
	}
	return sortedNames(names)
}

// deployment is the subset of `make devchain`'s deployment file that configures a profile.
type deployment struct {
	ChainID  uint64 `json:"chainId"`
	RPCURL   string `json:"rpcUrl"`
	Escrow   string `json:"escrow"`
	Identity string `json:"identity"`
	Token    string `json:"token"`
	Treasury string `json:"treasury"`
	Relayer  string `json:"relayer"`
}

// applyDeployment overlays the local chain's deployment file at path when it exists.
// discovered says the file was found by looking from the working directory, not named
// with VRWXCTL_DEPLOYMENT: then checkDiscovered vets it first.
func applyDeployment(path string, discovered bool, set func(k, v string, s Source, d string)) error {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errs.Usagef("local deployment file %s: %v", path, err)
	}
	var d deployment
	if err := json.Unmarshal(data, &d); err != nil {
		return errs.Usagef("local deployment file %s does not parse: %v", path, err).WithFix("re-run `make devchain`, or delete the file")
	}
	if discovered {
		if err := checkDiscovered(path, d); err != nil {
			return err
		}
	}
	for k, v := range map[string]string{"rpc_urls": d.RPCURL, "escrow": d.Escrow, "identity": d.Identity, "token": d.Token, "treasury": d.Treasury, "relayer": d.Relayer} {
		if v == "" {
			continue
		}
		if k != "rpc_urls" && common.IsHexAddress(v) {
			v = common.HexToAddress(v).Hex() // show the EIP-55 form operators compare against
		}
		set(k, v, SrcDeployment, path)
	}
	if d.ChainID != 0 {
		set("chain_id", fmt.Sprint(d.ChainID), SrcDeployment, path)
	}
	return nil
}

// ProfileInfo summarises one profile for `config profiles`.
type ProfileInfo struct {
	Name    string   `json:"name"`
	Source  []Source `json:"source"`
	ChainID string   `json:"chainId"`
	RPCURLs []string `json:"rpcUrls"`
	Escrow  string   `json:"escrow,omitempty"`
	Current bool     `json:"current"`
}

// Profiles lists the built-in and file profiles, resolving each one.
func Profiles(o Options) ([]ProfileInfo, error) {
	f, err := ReadFile(o)
	if err != nil {
		return nil, err
	}
	cur, err := load(o, f, true)
	if err != nil {
		return nil, err
	}
	var out []ProfileInfo
	for _, name := range cur.profileNames(f) {
		info := ProfileInfo{Name: name, Current: name == cur.Profile}
		if _, ok := builtin[name]; ok {
			info.Source = append(info.Source, SrcBuiltin)
		}
		if f != nil {
			if _, ok := f.Profiles[name]; ok {
				info.Source = append(info.Source, SrcFile)
			}
		}
		// Each profile is shown as the file and built-ins define it, without this
		// invocation's env settings and flags, which would make every profile look alike.
		pc, err := load(Options{Profile: name, LookupEnv: o.LookupEnv}, f, false)
		if err != nil {
			return nil, err
		}
		info.ChainID = pc.String("chain_id")
		info.RPCURLs = splitList(pc.String("rpc_urls"))
		info.Escrow = pc.String("escrow")
		out = append(out, info)
	}
	return out, nil
}

package sqlitebackup

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Location is where a backup lives: a local path or an S3 bucket and key. For S3 the
// key is an object key (verify, restore) or a prefix (backup, list, retention).
type Location struct {
	Path   string // local file or directory; empty for S3
	Bucket string // S3 bucket; empty for local
	Key    string // S3 object key or prefix, without a leading '/'
	// Replica is set for a litestream replica named in litestream's own form
	// (file:///dir). An s3:// prefix or a directory is recognised as a replica by
	// its layout when it is read.
	Replica bool
}

// IsS3 reports whether l names an S3 location. Only openStorage and the methods
// here ask: everything else goes through a Storage.
func (l Location) IsS3() bool { return l.Bucket != "" }

// String renders l the way ParseLocation reads it.
func (l Location) String() string {
	if l.IsS3() {
		return "s3://" + l.Bucket + "/" + l.Key
	}
	if l.Replica {
		return "file://" + l.Path
	}
	return l.Path
}

// asReplica marks a directory found to hold a litestream replica, so it is shown
// in litestream's form (file:///dir); an S3 prefix reads the same either way.
func (l Location) asReplica() Location {
	if !l.IsS3() {
		l.Replica = true
	}
	return l
}

// split returns the folder that holds the object l names, and the object's name in
// it ("" when l names a folder: an S3 key that is empty or ends in '/').
func (l Location) split() (Location, string) {
	if l.IsS3() {
		i := strings.LastIndexByte(l.Key, '/')
		return Location{Bucket: l.Bucket, Key: l.Key[:max(i, 0)]}, l.Key[i+1:]
	}
	return Location{Path: filepath.Dir(l.Path)}, filepath.Base(l.Path)
}

func joinKey(prefix, name string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// ParseLocation reads a local path, an s3://bucket[/key] URL, or a litestream
// replica's file:///dir.
func ParseLocation(s string) (Location, error) {
	if strings.TrimSpace(s) == "" {
		return Location{}, errs.Usagef("empty location: expected a path or s3://bucket/prefix")
	}
	if rest, ok := strings.CutPrefix(s, "file://"); ok {
		if !filepath.IsAbs(rest) {
			return Location{}, errs.Usagef("location %s: a file:// replica URL needs an absolute path (file:///data/replica)", redact.Quote(s))
		}
		return Location{Path: filepath.Clean(rest), Replica: true}, nil
	}
	if !strings.HasPrefix(strings.ToLower(s), "s3://") {
		if strings.Contains(s, "://") {
			return Location{}, errs.Usagef("location %s: only local paths, file:///replica and s3://bucket/prefix are supported", redact.Quote(s))
		}
		return Location{Path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, errs.Usagef("location %s is not a valid s3:// URL: expected s3://bucket/prefix", redact.Quote(s)).Wrap(err)
	}
	if u.Host == "" {
		return Location{}, errs.Usagef("location %s has no bucket: expected s3://bucket/prefix", redact.Quote(s))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Location{}, errs.Usagef("location %s: expected s3://bucket/prefix without query, fragment or user", redact.Quote(s))
	}
	if why := badBucket(u.Host); why != "" {
		// Caught here, S3 would answer with a redirect or DNS failure after retries.
		return Location{}, errs.Usagef("location %s: %s is not an S3 bucket name: %s", redact.Quote(s), redact.Quote(u.Host), why).
			WithFix("S3 bucket names are 3 to 63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit")
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key != "" && path.Clean("/"+key) != "/"+strings.TrimSuffix(key, "/") {
		return Location{}, errs.Usagef("location %s: the key must not contain '.', '..' or empty segments", redact.Quote(s))
	}
	return Location{Bucket: u.Host, Key: key}, nil
}

// badBucket says why name breaks S3's general-purpose bucket naming rules, or "".
func badBucket(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("it has %d characters (3 to 63 allowed)", len(name))
	case strings.Contains(name, ".."):
		return "it has two adjacent dots"
	case net.ParseIP(name) != nil:
		return "it is formatted as an IP address"
	case strings.HasPrefix(name, "xn--") || strings.HasPrefix(name, "sthree-"):
		return "it starts with a reserved prefix"
	case strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3"):
		return "it ends with a reserved suffix"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && c != '.' && c != '-' {
			return fmt.Sprintf("%q is not allowed (only lower-case letters, digits, dots and hyphens)", string(c))
		}
		if !alnum && (i == 0 || i == len(name)-1) {
			return "it must begin and end with a letter or digit"
		}
	}
	return ""
}

// S3Config says how to reach S3. The zero value uses the AWS SDK's default chain
// (environment, shared config, instance role), which also honours AWS_ENDPOINT_URL.
type S3Config struct {
	Region    string // empty: from the environment/shared config, else us-east-1
	Endpoint  string // override, e.g. http://127.0.0.1:9000 for MinIO or a local fake
	PathStyle bool   // bucket in the path instead of the host name; local servers need it
	Profile   string // shared-config profile
}

// NewS3Client builds an S3 client from cfg. With an endpoint override it asks the SDK
// to send checksums only where the API requires them, because S3-compatible servers
// are not all ready for the SDK's default trailing CRC checksums.
func NewS3Client(ctx context.Context, cfg S3Config) (*s3.Client, error) {
	var loadOpts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(cfg.Profile))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.UsePathStyle = cfg.PathStyle
	}), nil
}

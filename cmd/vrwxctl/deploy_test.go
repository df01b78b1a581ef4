package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/vrwx/vrwxctl/pkg/config"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of docs/deploy, by kind.
type manifests struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	serviceAccounts []*corev1.ServiceAccount
	cronJobs        []*batchv1.CronJob
	serviceMonitors []*monitoringv1.ServiceMonitor
}

// decodeStrict decodes one YAML document into the Kubernetes type its apiVersion and
// kind name, failing on any field the type does not have.
func (m *manifests) decodeStrict(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	strict := func(v any) error { return yaml.UnmarshalStrict(doc, v) }
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		m.deployments = append(m.deployments, o)
		return strict(o)
	case "v1 Service":
		o := &corev1.Service{}
		m.services = append(m.services, o)
		return strict(o)
	case "v1 ConfigMap":
		o := &corev1.ConfigMap{}
		m.configMaps = append(m.configMaps, o)
		return strict(o)
	case "v1 Secret":
		o := &corev1.Secret{}
		m.secrets = append(m.secrets, o)
		return strict(o)
	case "v1 ServiceAccount":
		o := &corev1.ServiceAccount{}
		m.serviceAccounts = append(m.serviceAccounts, o)
		return strict(o)
	case "batch/v1 CronJob":
		o := &batchv1.CronJob{}
		m.cronJobs = append(m.cronJobs, o)
		return strict(o)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		o := &monitoringv1.ServiceMonitor{}
		m.serviceMonitors = append(m.serviceMonitors, o)
		return strict(o)
	}
	return &unknownKindError{tm.APIVersion, tm.Kind}
}

type unknownKindError struct{ apiVersion, kind string }

func (e *unknownKindError) Error() string {
	return "apiVersion " + e.apiVersion + " kind " + e.kind + " is not a type this test knows"
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "deploy", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("docs/deploy: %v %v", files, err)
	}
	m := &manifests{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(b), -1) {
			if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
				continue
			}
			if err := m.decodeStrict([]byte(doc)); err != nil {
				t.Errorf("%s document %d: %v", filepath.Base(f), i+1, err)
			}
		}
	}
	return m
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// The strict decoding this test relies on does reject a misspelt field.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	var m manifests
	err := m.decodeStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "replica") {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
	err = m.decodeStrict([]byte("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: x\nspec:\n  endpoints:\n    - port: metrics\n      intervall: 30s\n"))
	if err == nil || !strings.Contains(err.Error(), "intervall") {
		t.Fatalf("a misspelt ServiceMonitor field decoded: %v", err)
	}
}

// docs/deploy decodes strictly into the Kubernetes and prometheus-operator types, and
// the pieces fit together: selectors select, ports and volumes named exist, the
// environment the exporter reads is real vrwxctl configuration, and each container
// runs a real vrwxctl command line.
func TestDeployManifests(t *testing.T) {
	m := loadManifests(t)
	if len(m.deployments) != 2 || len(m.services) != 1 || len(m.serviceMonitors) != 1 || len(m.cronJobs) != 2 {
		t.Fatalf("want two Deployments (exporter, the API with litestream), one Service and ServiceMonitor, two CronJobs (backup, drill); got %d, %d, %d, %d",
			len(m.deployments), len(m.services), len(m.serviceMonitors), len(m.cronJobs))
	}
	all := []metav1.Object{}
	for _, o := range m.deployments {
		all = append(all, o)
	}
	for _, o := range m.services {
		all = append(all, o)
	}
	for _, o := range m.serviceMonitors {
		all = append(all, o)
	}
	for _, o := range m.cronJobs {
		all = append(all, o)
	}
	for _, o := range m.configMaps {
		all = append(all, o)
	}
	for _, o := range m.secrets {
		all = append(all, o)
	}
	for _, o := range m.serviceAccounts {
		all = append(all, o)
	}
	for _, o := range all {
		if o.GetName() == "" || o.GetNamespace() != "vrwx" {
			t.Errorf("%q: namespace %q (want vrwx)", o.GetName(), o.GetNamespace())
		}
	}

	d := findByName(m.deployments, "vrwx-exporter")
	if d == nil {
		t.Fatal("no vrwx-exporter Deployment")
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("deployment selector %v does not select its pods %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment containers: %d", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	checkArgs(t, "deployment", append(slices.Clone(c.Command), c.Args...))
	if len(c.Args) == 0 || c.Args[0] != "exporter" {
		t.Errorf("deployment runs %v, not vrwxctl exporter", c.Args)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for what, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != "/healthz" || ports[probe.HTTPGet.Port.StrVal] == 0 {
			t.Errorf("%s probe %+v: want GET /healthz on a named container port", what, probe)
		}
	}
	listen := argAfter(c.Args, "--listen")
	if !strings.HasSuffix(listen, ":"+strconv.Itoa(int(ports["metrics"]))) {
		t.Errorf("--listen %q does not serve the metrics port %d", listen, ports["metrics"])
	}
	// The environment the exporter gets is vrwxctl's configuration.
	env := knownEnv()
	for _, from := range c.EnvFrom {
		var data []string
		switch {
		case from.ConfigMapRef != nil:
			cm := findByName(m.configMaps, from.ConfigMapRef.Name)
			if cm == nil {
				t.Errorf("envFrom ConfigMap %q is not in docs/deploy", from.ConfigMapRef.Name)
				continue
			}
			for k := range cm.Data {
				data = append(data, k)
			}
		case from.SecretRef != nil:
			s := findByName(m.secrets, from.SecretRef.Name)
			if s == nil {
				t.Errorf("envFrom Secret %q is not in docs/deploy", from.SecretRef.Name)
				continue
			}
			for k := range s.StringData {
				data = append(data, k)
			}
		}
		for _, k := range data {
			if !env[k] {
				t.Errorf("environment variable %s is not one vrwxctl reads", k)
			}
		}
	}

	svc := m.services[0]
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("service selector %v does not select the exporter pods", svc.Spec.Selector)
	}
	svcPorts := map[string]bool{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = true
		if ports[p.TargetPort.StrVal] == 0 {
			t.Errorf("service port %s targets %v, not a container port", p.Name, p.TargetPort)
		}
	}

	sm := m.serviceMonitors[0]
	smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil || !smSel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector does not select the service (%v)", err)
	}
	if len(sm.Spec.Endpoints) != 1 || !svcPorts[sm.Spec.Endpoints[0].Port] || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	} else if iv := string(sm.Spec.Endpoints[0].Interval); iv != argAfter(c.Args, "--interval") {
		t.Errorf("scrape interval %s differs from the exporter's --interval %s", iv, argAfter(c.Args, "--interval"))
	}
	// The ExporterDown alert selects job="vrwx-exporter": the Service's name.
	if svc.Name != "vrwx-exporter" || sm.Spec.JobLabel != "" {
		t.Errorf("the job label would not be vrwx-exporter (service %q, jobLabel %q)", svc.Name, sm.Spec.JobLabel)
	}

	cj := findByName(m.cronJobs, "vrwx-db-backup")
	if cj == nil {
		t.Fatal("no vrwx-db-backup CronJob")
	}
	if len(strings.Fields(cj.Spec.Schedule)) != 5 || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("cronjob schedule %q, concurrency %q", cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if findByName(m.serviceAccounts, pod.ServiceAccountName) == nil {
		t.Errorf("cronjob service account %q is not in docs/deploy", pod.ServiceAccountName)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	for _, bc := range pod.Containers {
		checkArgs(t, "cronjob", append(slices.Clone(bc.Command), bc.Args...))
		if len(bc.Args) < 2 || bc.Args[0] != "db" || bc.Args[1] != "backup" || !strings.HasPrefix(argAfter(bc.Args, "--out"), "s3://") {
			t.Errorf("cronjob runs %v, not vrwxctl db backup to s3://", bc.Args)
		}
		mounts := map[string]string{}
		for _, vm := range bc.VolumeMounts {
			mounts[vm.MountPath] = vm.Name
			if !volumes[vm.Name] {
				t.Errorf("cronjob mounts volume %q that the pod does not define", vm.Name)
			}
		}
		db := argAfter(bc.Args, "--db")
		if mounts[filepath.Dir(db)] == "" {
			t.Errorf("--db %s is not on a mounted volume (%v)", db, mounts)
		}
		if mounts["/tmp"] == "" && bc.SecurityContext != nil && bc.SecurityContext.ReadOnlyRootFilesystem != nil && *bc.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("read-only root filesystem but no /tmp volume for the S3 staging copy")
		}
	}
}

// The drill's CronJob runs a real db drill with JSON output, its scratch on a volume
// of its own, its environment vrwxctl's configuration, and never mounts the API's
// data: a drill cannot touch the live database. The API's example Deployment runs
// litestream beside the API on the same data volume, with a configuration that
// replicates the database the API opens to the replica the drill restores.
func TestDrillCronJobAndLitestreamSidecar(t *testing.T) {
	m := loadManifests(t)
	cj := findByName(m.cronJobs, "vrwx-db-drill")
	if cj == nil {
		t.Fatal("no vrwx-db-drill CronJob")
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if findByName(m.serviceAccounts, pod.ServiceAccountName) == nil || len(pod.Containers) != 1 {
		t.Fatalf("drill pod: service account %q, %d containers", pod.ServiceAccountName, len(pod.Containers))
	}
	c := pod.Containers[0]
	checkArgs(t, "drill cronjob", append(slices.Clone(c.Command), c.Args...))
	if len(c.Args) < 2 || c.Args[0] != "db" || c.Args[1] != "drill" || argAfter(c.Args, "-o") != "json" {
		t.Errorf("drill cronjob runs %v, not vrwxctl db drill -o json", c.Args)
	}
	env := knownEnv()
	replica := ""
	for _, e := range c.Env {
		if !env[e.Name] && !strings.HasPrefix(e.Name, "AWS_") {
			t.Errorf("drill environment variable %s is not one vrwxctl reads", e.Name)
		}
		if e.Name == "VRWX_REPLICA" {
			replica = e.Value
		}
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.MountPath] = vm.Name
	}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			t.Errorf("the drill mounts the claim %s: it must never reach the live database", v.PersistentVolumeClaim.ClaimName)
		}
	}
	if mounts[argAfter(c.Args, "--scratch")] == "" {
		t.Errorf("--scratch %s is not a mounted volume (%v)", argAfter(c.Args, "--scratch"), mounts)
	}

	api := findByName(m.deployments, "vrwx-api")
	if api == nil {
		t.Fatal("no vrwx-api Deployment with the litestream sidecar")
	}
	if api.Spec.Replicas == nil || *api.Spec.Replicas != 1 {
		t.Errorf("the API with litestream must run one pod (one SQLite writer), not %v", api.Spec.Replicas)
	}
	var dbPath, dataVolume, configMount string
	var ls *corev1.Container
	for i, ct := range api.Spec.Template.Spec.Containers {
		for _, e := range ct.Env {
			if e.Name == "DATABASE_PATH" {
				dbPath = e.Value
				for _, vm := range ct.VolumeMounts {
					if vm.MountPath == filepath.Dir(dbPath) {
						dataVolume = vm.Name
					}
				}
			}
		}
		if ct.Name == "litestream" {
			ls = &api.Spec.Template.Spec.Containers[i]
		}
	}
	if ls == nil || dbPath == "" || dataVolume == "" {
		t.Fatalf("the API deployment needs an API container with DATABASE_PATH on a volume and a litestream container")
	}
	if !strings.HasSuffix(ls.Image, ":0.5.18") || len(ls.Args) != 3 || ls.Args[0] != "replicate" || ls.Args[1] != "-config" {
		t.Errorf("litestream sidecar %s %v: want the pinned 0.5.18 running replicate -config FILE", ls.Image, ls.Args)
	}
	shares := false
	for _, vm := range ls.VolumeMounts {
		if vm.Name == dataVolume && vm.MountPath == filepath.Dir(dbPath) {
			shares = true
		}
		if strings.HasPrefix(ls.Args[2], vm.MountPath+"/") {
			configMount = vm.Name
		}
	}
	if !shares {
		t.Errorf("litestream does not mount the API's data volume %s at %s", dataVolume, filepath.Dir(dbPath))
	}
	var cmName string
	for _, v := range api.Spec.Template.Spec.Volumes {
		if v.Name == configMount && v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := findByName(m.configMaps, cmName)
	if cm == nil {
		t.Fatalf("litestream's configuration %s is not a ConfigMap in docs/deploy", ls.Args[2])
	}
	var cfg struct {
		DBs []struct {
			Path    string
			Replica struct{ URL string }
		}
	}
	if err := yaml.Unmarshal([]byte(cm.Data[filepath.Base(ls.Args[2])]), &cfg); err != nil || len(cfg.DBs) != 1 {
		t.Fatalf("litestream.yml: %v %+v", err, cfg)
	}
	if cfg.DBs[0].Path != dbPath || cfg.DBs[0].Replica.URL != replica {
		t.Errorf("litestream replicates %s to %s; the API's database is %s and the drill restores %s", cfg.DBs[0].Path, cfg.DBs[0].Replica.URL, dbPath, replica)
	}
}

func knownEnv() map[string]bool {
	out := map[string]bool{"VRWX_PROFILE": true, "VRWXCTL_CONFIG": true}
	for _, k := range config.Keys {
		if k.Env != "" {
			out[k.Env] = true
		}
	}
	return out
}

func findByName[T metav1.Object](objs []T, name string) T {
	for _, o := range objs {
		if o.GetName() == name {
			return o
		}
	}
	var zero T
	return zero
}

func argAfter(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/driftcar/driftcar/config"
)

var update = flag.Bool("update", false, "regenerate base/prometheusrule.yaml from deploy/prometheus/rules")

// podMonitor is the part of the Prometheus Operator's PodMonitor
// (monitoring.coreos.com/v1) the manifests use.
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port        string `json:"port"`
			Path        string `json:"path"`
			Interval    string `json:"interval"`
			Relabelings []struct {
				SourceLabels []string `json:"sourceLabels"`
				TargetLabel  string   `json:"targetLabel"`
			} `json:"relabelings"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's PrometheusRule.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Record      string            `json:"record,omitempty"`
				Alert       string            `json:"alert,omitempty"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// knativeService is the part of a Knative Service (serving.knative.dev/v1)
// the manifests use: a revision template is a pod spec.
type knativeService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Template struct {
			metav1.ObjectMeta `json:"metadata"`
			Spec              corev1.PodSpec `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// objects holds decoded manifests by kind.
type objects struct {
	knative         []knativeService
	deployments     []appsv1.Deployment
	services        []corev1.Service
	configMaps      []corev1.ConfigMap
	networkPolicies []networkingv1.NetworkPolicy
	podMonitors     []podMonitor
	rules           []prometheusRule
}

// decodeStrict decodes one manifest into the type of its kind, failing on
// unknown or duplicate fields.
func (o *objects) decodeStrict(doc []byte) error {
	var meta metav1.TypeMeta
	if err := sigsyaml.Unmarshal(doc, &meta); err != nil {
		return err
	}
	strict := func(v any) error { return sigsyaml.UnmarshalStrict(doc, v) }
	switch meta.APIVersion + " " + meta.Kind {
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		if err := strict(&d); err != nil {
			return err
		}
		o.deployments = append(o.deployments, d)
	case "v1 Service":
		var s corev1.Service
		if err := strict(&s); err != nil {
			return err
		}
		o.services = append(o.services, s)
	case "v1 ConfigMap":
		var c corev1.ConfigMap
		if err := strict(&c); err != nil {
			return err
		}
		o.configMaps = append(o.configMaps, c)
	case "networking.k8s.io/v1 NetworkPolicy":
		var n networkingv1.NetworkPolicy
		if err := strict(&n); err != nil {
			return err
		}
		o.networkPolicies = append(o.networkPolicies, n)
	case "monitoring.coreos.com/v1 PodMonitor":
		var p podMonitor
		if err := strict(&p); err != nil {
			return err
		}
		o.podMonitors = append(o.podMonitors, p)
	case "monitoring.coreos.com/v1 PrometheusRule":
		var r prometheusRule
		if err := strict(&r); err != nil {
			return err
		}
		o.rules = append(o.rules, r)
	case "serving.knative.dev/v1 Service":
		var k knativeService
		if err := strict(&k); err != nil {
			return err
		}
		o.knative = append(o.knative, k)
	default:
		return errors.New("unexpected kind " + meta.APIVersion + " " + meta.Kind)
	}
	return nil
}

func (o *objects) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	for i := range o.deployments {
		if o.deployments[i].Name == name {
			return &o.deployments[i]
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
}

func (o *objects) configMap(t *testing.T, name string) *corev1.ConfigMap {
	t.Helper()
	for i := range o.configMaps {
		if o.configMaps[i].Name == name {
			return &o.configMaps[i]
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return nil
}

// render builds a kustomize directory with krusty and decodes every
// resource strictly.
func render(t *testing.T, dir string) *objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	o := new(objects)
	for _, r := range m.Resources() {
		doc, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		if err := o.decodeStrict(doc); err != nil {
			t.Fatalf("%s: %s %s: %v", dir, r.GetKind(), r.GetName(), err)
		}
	}
	return o
}

func documents(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// isSidecarConfig reports whether p is a driftcar config file rather than
// a manifest.
func isSidecarConfig(p string) bool {
	return p == filepath.Join("base", "driftcar.yaml") || p == filepath.Join("overlays", "grpc", "driftcar.yaml") || strings.HasPrefix(p, filepath.Join("controlplane", "fleet")+string(filepath.Separator))
}

// TestManifestsDecodeStrictly decodes every manifest file (patches
// included) into its k8s.io/api type, rejecting unknown fields.
func TestManifestsDecodeStrictly(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".yaml" || isSidecarConfig(p) {
			return err
		}
		for _, doc := range documents(t, p) {
			if filepath.Base(p) == "kustomization.yaml" {
				var k map[string]any
				if err := sigsyaml.UnmarshalStrict(doc, &k); err != nil {
					t.Errorf("%s: %v", p, err)
				}
				continue
			}
			n++
			if err := new(objects).decodeStrict(doc); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("decoded %d manifests; want the base, control plane and overlay objects", n)
	}
}

func TestSidecarConfigsParse(t *testing.T) {
	files, err := filepath.Glob("controlplane/fleet/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, "base/driftcar.yaml", "overlays/grpc/driftcar.yaml") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := config.Parse(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func container(t *testing.T, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

func port(t *testing.T, c *corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s: no port %s", c.Name, name)
	return 0
}

// mountedFile resolves a file path in container c to the ConfigMap key or
// the emptyDir behind it: ("configmap"|"emptydir", name of ConfigMap, key).
func mountedFile(c *corev1.Container, spec *corev1.PodSpec, file string) (kind, name, key string) {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok || m.SubPath != "" {
			continue
		}
		for _, v := range spec.Volumes {
			switch {
			case v.Name != m.Name:
			case v.ConfigMap != nil:
				return "configmap", v.ConfigMap.Name, rel
			case v.EmptyDir != nil:
				return "emptydir", v.Name, rel
			}
		}
	}
	return "", "", ""
}

// secure checks the hardening every container gets.
func secure(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec.SecurityContext
	podNonRoot := pod != nil && pod.RunAsNonRoot != nil && *pod.RunAsNonRoot
	if pod == nil || pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: want seccompProfile RuntimeDefault", d.Name)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s/%s: no securityContext", d.Name, c.Name)
			continue
		}
		if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
			t.Errorf("%s/%s: want runAsNonRoot", d.Name, c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s/%s: want readOnlyRootFilesystem", d.Name, c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s/%s: want allowPrivilegeEscalation false", d.Name, c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: want capabilities drop ALL", d.Name, c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: want cpu and memory requests and a memory limit", d.Name, c.Name)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s/%s: want readiness and liveness probes", d.Name, c.Name)
		}
	}
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s: selector %v does not match the pod labels %v (%v)", d.Name, d.Spec.Selector, d.Spec.Template.Labels, err)
	}
}

// services finds the Services whose selector picks the pods of d.
func (o *objects) servicesFor(d *appsv1.Deployment) []corev1.Service {
	var out []corev1.Service
	for _, s := range o.services {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, s)
		}
	}
	return out
}

// targetPort resolves a Service port's targetPort in the pods of d.
func targetPort(d *appsv1.Deployment, tp intstr.IntOrString) int32 {
	if tp.Type == intstr.Int {
		return tp.IntVal
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == tp.StrVal {
				return p.ContainerPort
			}
		}
	}
	return 0
}

// dialable reports whether host:port reaches a container port of the pods
// of some Deployment: through a Service of the render, or on the pod's
// loopback for a container of pod.
func (o *objects) dialable(addr string, pod *appsv1.Deployment) bool {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	portN, _ := strconv.Atoi(p)
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		for _, c := range pod.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				if int(cp.ContainerPort) == portN && c.Name != "driftcar" {
					return true
				}
			}
		}
		return false
	}
	for i := range o.deployments {
		d := &o.deployments[i]
		for _, s := range o.servicesFor(d) {
			for _, sp := range s.Spec.Ports {
				if s.Name == host && int(sp.Port) == portN && targetPort(d, sp.TargetPort) != 0 {
					return true
				}
			}
		}
	}
	return false
}

// checkSidecar checks the driftcar sidecar of Deployment name against the
// config it mounts and the objects around it, and returns the config.
func checkSidecar(t *testing.T, o *objects, name string) (*config.Config, *corev1.Container) {
	t.Helper()
	d := o.deployment(t, name)
	spec := &d.Spec.Template.Spec
	c := container(t, spec, "driftcar")
	httpPort, adminPort := port(t, c, "http"), port(t, c, "admin")

	i := slices.Index(c.Args, "--config")
	if len(c.Args) == 0 || c.Args[0] != "run" || i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("sidecar args %q: want run --config FILE", c.Args)
	}
	kind, cmName, key := mountedFile(c, spec, c.Args[i+1])
	if kind != "configmap" {
		t.Fatalf("sidecar config %s is not mounted from a ConfigMap", c.Args[i+1])
	}
	data, ok := o.configMap(t, cmName).Data[key]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cmName, key)
	}
	cfg, err := config.Parse([]byte(data))
	if err != nil {
		t.Fatalf("ConfigMap %s key %s: %v", cmName, key, err)
	}

	// The inference and admin addresses are the container ports; the admin
	// server must be reachable by the kubelet and Prometheus.
	if _, p, _ := net.SplitHostPort(cfg.Listen); p != strconv.Itoa(int(httpPort)) {
		t.Errorf("listen %s; want port %d (container port http)", cfg.Listen, httpPort)
	}
	host, p, _ := net.SplitHostPort(cfg.Admin)
	if p != strconv.Itoa(int(adminPort)) {
		t.Errorf("admin %s; want port %d (container port admin)", cfg.Admin, adminPort)
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("admin %s: must listen on every interface for the kubelet's probes", cfg.Admin)
	}
	for _, probe := range []struct {
		p    *corev1.Probe
		path string
	}{{c.ReadinessProbe, "/readyz"}, {c.LivenessProbe, "/healthz"}} {
		if probe.p == nil || probe.p.HTTPGet == nil || probe.p.HTTPGet.Path != probe.path || targetPort(d, probe.p.HTTPGet.Port) != adminPort {
			t.Errorf("want an HTTP probe of %s on the admin port", probe.path)
		}
	}

	// A learned reference is written to an emptyDir.
	if ref := cfg.Reference; ref != nil && ref.Learn != nil {
		if kind, _, _ := mountedFile(c, spec, ref.File); kind != "emptydir" {
			t.Errorf("reference.file %s (learned) is not on an emptyDir", ref.File)
		}
	}

	// SIGTERM drains for drain_timeout after the preStop sleep; the
	// kubelet must wait for both.
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	need := time.Duration(cfg.DrainTimeout)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if grace <= need {
		t.Errorf("terminationGracePeriodSeconds %s; want more than preStop + drain_timeout = %s", grace, need)
	}

	// Every upstream is the model container next door or a Service.
	for n, u := range cfg.Upstreams {
		if !o.dialable(u.Address, d) {
			t.Errorf("upstream %s: %s is neither a model container of the pod nor a Service port of the render", n, u.Address)
		}
	}
	// The Service of the pods sends clients to the sidecar.
	svcs := o.servicesFor(d)
	if len(svcs) == 0 {
		t.Fatalf("no Service selects the pods of %s", name)
	}
	grpcPort := int32(-1)
	for _, cp := range c.Ports {
		if cp.Name == "grpc" {
			grpcPort = cp.ContainerPort
		}
	}
	for _, s := range svcs {
		for _, sp := range s.Spec.Ports {
			switch tp := targetPort(d, sp.TargetPort); {
			case tp == httpPort:
			case tp == grpcPort:
				// Istio and Knative pick HTTP/2 by the port's name or appProtocol.
				if sp.Name != "grpc" && !strings.HasPrefix(sp.Name, "grpc-") || sp.AppProtocol == nil || *sp.AppProtocol != "grpc" {
					t.Errorf("Service %s port %s targets the sidecar's grpc port; want it named grpc[-*] with appProtocol grpc", s.Name, sp.Name)
				}
			default:
				t.Errorf("Service %s port %s: targets %v, want the sidecar's http or grpc port", s.Name, sp.Name, sp.TargetPort)
			}
		}
	}
	// The gRPC listener is the container port grpc, and every gRPC
	// upstream is a model container's port or a Service's.
	if cfg.GRPCListen != "" {
		if _, p, _ := net.SplitHostPort(cfg.GRPCListen); p != strconv.Itoa(int(grpcPort)) {
			t.Errorf("grpc_listen %s; want the container port grpc (%d)", cfg.GRPCListen, grpcPort)
		}
	} else if grpcPort >= 0 {
		t.Errorf("the sidecar has a grpc port %d but no grpc_listen", grpcPort)
	}
	for n, u := range cfg.Upstreams {
		if u.GRPCAddress != "" && !o.dialable(u.GRPCAddress, d) {
			t.Errorf("upstream %s: grpc_address %s is neither a model container of the pod nor a Service port of the render", n, u.GRPCAddress)
		}
	}
	secure(t, d)
	return cfg, c
}

func TestKustomizeBase(t *testing.T) {
	o := render(t, "base")
	if got := [6]int{len(o.deployments), len(o.services), len(o.configMaps), len(o.networkPolicies), len(o.podMonitors), len(o.rules)}; got != [6]int{3, 3, 1, 1, 1, 1} {
		t.Errorf("Deployments, Services, ConfigMaps, NetworkPolicies, PodMonitors, PrometheusRules = %v; want [3 3 1 1 1 1]", got)
	}
	cfg, c := checkSidecar(t, o, "credit-risk")
	if c.Image != "driftcar:dev" {
		t.Errorf("sidecar image %s; want driftcar:dev from the kustomize images entry", c.Image)
	}
	if cfg.Model != "credit-risk" {
		t.Errorf("model %q; want credit-risk", cfg.Model)
	}
	for _, name := range []string{"credit-risk-canary", "credit-risk-shadow"} {
		d := o.deployment(t, name)
		secure(t, d)
		if len(o.servicesFor(d)) != 1 {
			t.Errorf("%s: want exactly one Service", name)
		}
	}

	// Monitoring and network policy select the sidecar pods and their ports.
	live := o.deployment(t, "credit-risk")
	podLabels := labels.Set(live.Spec.Template.Labels)
	pm := o.podMonitors[0]
	sel, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
	if err != nil || !sel.Matches(podLabels) {
		t.Errorf("PodMonitor selector %v does not match the sidecar pods (%v)", pm.Spec.Selector, err)
	}
	for _, name := range []string{"credit-risk-canary", "credit-risk-shadow"} {
		if sel.Matches(labels.Set(o.deployment(t, name).Spec.Template.Labels)) {
			t.Errorf("PodMonitor selects %s, which has no sidecar", name)
		}
	}
	if len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port != "admin" || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Errorf("PodMonitor endpoints %+v; want /metrics on port admin", pm.Spec.PodMetricsEndpoints)
	}
	np := o.networkPolicies[0]
	if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err != nil || !sel.Matches(podLabels) {
		t.Errorf("NetworkPolicy does not select the sidecar pods (%v)", err)
	}
	var allowed []int32
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			allowed = append(allowed, targetPort(live, *p.Port))
		}
	}
	if slices.Sort(allowed); !slices.Equal(allowed, []int32{8080, 9901}) {
		t.Errorf("NetworkPolicy opens ports %v; want the sidecar's 8080 and 9901 only", allowed)
	}
}

// TestKustomizeGRPCOverlay: the gRPC variant serves the inference route
// on the sidecar's grpc port, behind a Service port Istio recognizes, and
// its upstreams' gRPC ports exist.
func TestKustomizeGRPCOverlay(t *testing.T) {
	o := render(t, "overlays/grpc")
	cfg, c := checkSidecar(t, o, "credit-risk")
	port(t, c, "grpc")
	served := false
	for i := range cfg.Routes {
		served = served || config.ServesGRPC(&cfg.Routes[i], cfg.Upstreams)
	}
	if cfg.GRPCListen == "" || !served {
		t.Fatalf("grpc_listen %q, a route served over gRPC %v; want both", cfg.GRPCListen, served)
	}
	svc := false
	for _, s := range o.servicesFor(o.deployment(t, "credit-risk")) {
		for _, sp := range s.Spec.Ports {
			svc = svc || sp.Name == "grpc"
		}
	}
	if !svc {
		t.Error("no Service port named grpc in front of the sidecar")
	}
	live := o.deployment(t, "credit-risk")
	var allowed []int32
	for _, rule := range o.networkPolicies[0].Spec.Ingress {
		for _, p := range rule.Ports {
			allowed = append(allowed, targetPort(live, *p.Port))
		}
	}
	if slices.Sort(allowed); !slices.Equal(allowed, []int32{8080, 8081, 9901}) {
		t.Errorf("NetworkPolicy opens ports %v; want the sidecar's 8080, 8081 and 9901", allowed)
	}
}

// TestKnativeGRPC: the Knative Service exposes the sidecar's gRPC listener
// as its one port, named h2c so that Knative speaks HTTP/2 to it, and
// probes it with grpc.health.v1.
func TestKnativeGRPC(t *testing.T) {
	o := new(objects)
	for _, doc := range documents(t, "knative/service.yaml") {
		if err := o.decodeStrict(doc); err != nil {
			t.Fatal(err)
		}
	}
	if len(o.knative) != 1 {
		t.Fatalf("got %d Knative Services; want 1", len(o.knative))
	}
	data, err := os.ReadFile("overlays/grpc/driftcar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	spec := &o.knative[0].Spec.Template.Spec
	var ports []corev1.ContainerPort
	for _, c := range spec.Containers {
		ports = append(ports, c.Ports...)
	}
	c := container(t, spec, "driftcar")
	_, p, _ := net.SplitHostPort(cfg.GRPCListen)
	if len(ports) != 1 || len(c.Ports) != 1 || c.Ports[0].Name != "h2c" || strconv.Itoa(int(c.Ports[0].ContainerPort)) != p {
		t.Errorf("ports %+v; want one, the sidecar's h2c on grpc_listen's port %s", ports, p)
	}
	if rp := c.ReadinessProbe; rp == nil || rp.GRPC == nil || strconv.Itoa(int(rp.GRPC.Port)) != p {
		t.Errorf("readiness probe %+v; want a gRPC probe of port %s", rp, p)
	}
	if kind, name, key := mountedFile(c, spec, "/etc/driftcar/driftcar.yaml"); kind != "configmap" || name == "" || key != "driftcar.yaml" {
		t.Errorf("the config is mounted from %s %s key %s; want a ConfigMap's driftcar.yaml", kind, name, key)
	}
}

func TestKustomizeControlPlane(t *testing.T) {
	o := render(t, "controlplane")
	checkControlPlane(t, o)
}

// checkControlPlane checks the control plane's command line, fleet
// directory and Service, and returns the Service address and the fleet's
// ConfigMap.
func checkControlPlane(t *testing.T, o *objects) (string, *corev1.ConfigMap) {
	t.Helper()
	d := o.deployment(t, "driftcar-controlplane")
	secure(t, d)
	spec := &d.Spec.Template.Spec
	c := container(t, spec, "controlplane")
	if want := []string{"controlplane", "--listen", ":18000", "--dir", "/etc/driftcar/fleet"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q; want %q", c.Args, want)
	}
	kind, cmName, _ := mountedFile(c, spec, "/etc/driftcar/fleet/x.yaml")
	if kind != "configmap" {
		t.Fatal("/etc/driftcar/fleet is not mounted from a ConfigMap")
	}
	fleet := o.configMap(t, cmName)
	if len(fleet.Data) == 0 {
		t.Fatalf("fleet ConfigMap %s is empty", cmName)
	}
	for key, data := range fleet.Data {
		if filepath.Ext(key) != ".yaml" {
			t.Errorf("fleet file %s: want NAME.yaml", key)
		}
		if _, err := config.Parse([]byte(data)); err != nil {
			t.Errorf("fleet file %s: %v", key, err)
		}
	}
	monitored := false
	for _, pm := range o.podMonitors {
		sel, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
		if err == nil && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			monitored = len(pm.Spec.PodMetricsEndpoints) == 1 && port(t, c, pm.Spec.PodMetricsEndpoints[0].Port) != 0
		}
	}
	if !monitored {
		t.Error("no PodMonitor scrapes a port of the control plane")
	}
	svcs := o.servicesFor(d)
	if len(svcs) != 1 || len(svcs[0].Spec.Ports) != 1 || targetPort(d, svcs[0].Spec.Ports[0].TargetPort) != 18000 {
		t.Fatalf("want one Service with one port to the control plane's :18000, got %+v", svcs)
	}
	return net.JoinHostPort(svcs[0].Name, strconv.Itoa(int(svcs[0].Spec.Ports[0].Port))), fleet
}

func TestKustomizeXDSOverlay(t *testing.T) {
	o := render(t, "overlays/xds")
	base := render(t, "base")
	if len(o.deployments) != len(base.deployments)+1 || len(o.services) != len(base.services)+1 {
		t.Errorf("the overlay has %d Deployments and %d Services; want base's plus the control plane's", len(o.deployments), len(o.services))
	}
	addr, fleet := checkControlPlane(t, o)
	_, c := checkSidecar(t, o, "credit-risk")
	flag := func(name string) string {
		i := slices.Index(c.Args, name)
		if i < 0 || i+1 >= len(c.Args) {
			t.Fatalf("sidecar args %q: no %s", c.Args, name)
		}
		return c.Args[i+1]
	}
	if got := flag("--xds"); got != addr {
		t.Errorf("--xds %s; want the control plane Service %s", got, addr)
	}
	if cluster := flag("--node-cluster"); fleet.Data[cluster+".yaml"] == "" {
		t.Errorf("--node-cluster %s: the fleet ConfigMap has no %s.yaml", cluster, cluster)
	}
}

// generatePrometheusRule wraps the groups of deploy/prometheus/rules, with
// their comments, into a PrometheusRule.
func generatePrometheusRule() ([]byte, error) {
	groups := &yaml.Node{Kind: yaml.SequenceNode}
	for _, f := range []string{"driftcar-recording.yml", "driftcar-alerts.yml"} {
		data, err := os.ReadFile(path.Join("../prometheus/rules", f))
		if err != nil {
			return nil, err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "groups" {
				for _, g := range root.Content[i+1].Content {
					g.HeadComment = "From deploy/prometheus/rules/" + f + "."
					groups.Content = append(groups.Content, g)
				}
			}
		}
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
	mapping := func(kv ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: kv} }
	obj := mapping(
		str("apiVersion"), str("monitoring.coreos.com/v1"),
		str("kind"), str("PrometheusRule"),
		str("metadata"), mapping(
			str("name"), str("driftcar"),
			str("labels"), mapping(str("app.kubernetes.io/name"), str("driftcar")),
		),
		str("spec"), mapping(str("groups"), groups),
	)
	var b bytes.Buffer
	b.WriteString("# Code generated by go test ./deploy/k8s -run TestPrometheusRuleInSync -update; DO NOT EDIT.\n")
	b.WriteString("# The rules of deploy/prometheus/rules for the Prometheus Operator. If its\n")
	b.WriteString("# ruleSelector matches on labels (kube-prometheus: release=...), add them here\n")
	b.WriteString("# with a kustomize patch.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func TestPrometheusRuleInSync(t *testing.T) {
	const file = "base/prometheusrule.yaml"
	want, err := generatePrometheusRule()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from deploy/prometheus/rules; run go test ./deploy/k8s -run TestPrometheusRuleInSync -update", file)
	}
	// The generated object holds every rule of the rule files.
	var pr prometheusRule
	if err := sigsyaml.UnmarshalStrict(got, &pr); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Record+r.Alert)
		}
	}
	for _, want := range []string{"model_route_feature_hash:driftcar_feature_psi:15m", "model_route_feature_hash:driftcar_feature_ks:15m", "DriftcarFeatureDrift", "DriftcarShadowDisagreement", "DriftcarCanaryRolledBack", "DriftcarSamplerDropping", "DriftcarXDSDisconnected"} {
		if !slices.Contains(names, want) {
			t.Errorf("PrometheusRule has no rule %s", want)
		}
	}
}

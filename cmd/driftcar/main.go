package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/driftcar/driftcar/config"
	"github.com/driftcar/driftcar/config/xds"
	"github.com/driftcar/driftcar/internal/buildinfo"
	"github.com/driftcar/driftcar/internal/controlplane"
	"github.com/driftcar/driftcar/internal/demo"
	"github.com/driftcar/driftcar/internal/refbuild"
	"github.com/driftcar/driftcar/internal/sidecar"
)

const usage = `usage: driftcar <command> [flags]

commands:
  run       --config FILE [--xds ADDR --node-id ID --node-cluster C]
                            run the sidecar (routing from a file or an xDS control plane)
  controlplane --listen :18000 --dir DIR | --render FILE
                            serve fleet configs over xDS, or print the Envoy resources of a file
  validate  --config FILE   check a config file and exit
  reference build --input F --config C --out R
                            build a reference profile from training data
  demo [--rate N] [--duration D] [--drift-at D] [--seed N] [--open] [--grpc]
                            run the built-in demo
  version                   print the version
`

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "controlplane":
		return cmdControlPlane(rest, stdout, stderr)
	case "reference":
		if len(rest) == 0 || rest[0] != "build" {
			fmt.Fprint(stderr, refbuild.Usage)
			return 2
		}
		return refbuild.Run(rest[1:], stdout, stderr)
	case "bench":
		fmt.Fprintln(stderr, "driftcar: the benchmarks moved to driftcar-bench (make build puts it in bin/driftcar-bench)")
		return 2
	case "demo":
		return cmdDemo(rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, buildinfo.Get())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "driftcar: unknown command %q\n\n%s", cmd, usage)
	return 2
}

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o demo.Options
	fs.IntVar(&o.Rate, "rate", 200, "requests per second")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "how long to run; 0 runs until interrupted")
	fs.DurationVar(&o.DriftAt, "drift-at", 25*time.Second, "when to inject drift")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of data, models and traffic")
	fs.BoolVar(&o.Open, "open", false, "print the admin page URL to open in a browser")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "driftcar's inference address")
	fs.StringVar(&o.Admin, "admin", "127.0.0.1:9901", "driftcar's admin address")
	fs.BoolVar(&o.GRPC, "grpc", false, "serve the models over gRPC and drive them through driftcar's gRPC listener")
	fs.StringVar(&o.GRPCListen, "grpc-listen", "127.0.0.1:8081", "driftcar's gRPC address, with --grpc")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.Out = stdout
	if f, ok := stdout.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			o.Live = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if _, err := demo.Run(ctx, o); err != nil {
		fmt.Fprintf(stderr, "driftcar demo: %v\n", err)
		return 1
	}
	return 0
}

// startXDS runs an ADS client that applies the control plane's configs.
func startXDS(ctx context.Context, s *sidecar.Sidecar, addr, nodeID, nodeCluster, path string, log *zap.Logger) error {
	node, err := xds.NodeFromEnv(nodeID, nodeCluster, os.Getenv)
	if err != nil {
		return err
	}
	base, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	c, err := xds.New(xds.Options{
		Server: addr, Node: node, Base: base, Logger: log.Named("xds"), Registerer: s.Registerer(),
		Apply: func(u xds.Update) error { return s.ApplyXDS(u.Config, u.Version) },
	})
	if err != nil {
		return err
	}
	s.UseXDSBase(c.SetBase)
	go func() {
		if err := c.Run(ctx); err != nil {
			log.Error("xDS client stopped", zap.Error(err))
		}
	}()
	return nil
}

func cmdControlPlane(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("controlplane", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":18000", "ADS gRPC address")
	admin := fs.String("admin", ":18001", "admin address (/metrics, /healthz)")
	dir := fs.String("dir", "", "directory of fleet configs: one YAML per node id or node cluster")
	render := fs.String("render", "", "print the Envoy resources of this config file as JSON and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *render != "" {
		data, err := os.ReadFile(*render)
		if err == nil {
			var out []byte
			if out, err = controlplane.Render(data); err == nil {
				_, _ = stdout.Write(out)
				return 0
			}
		}
		fmt.Fprintf(stderr, "driftcar controlplane --render: %v\n", err)
		return 1
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "driftcar controlplane: --dir or --render is required")
		return 2
	}
	log, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintf(stderr, "driftcar: cannot build logger: %v\n", err)
		return 1
	}
	defer func() { _ = log.Sync() }()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := controlplane.Run(ctx, controlplane.Options{Listen: *listen, Admin: *admin, Dir: *dir, Logger: log.Named("controlplane")}); err != nil {
		log.Error("control plane stopped", zap.Error(err))
		return 1
	}
	return 0
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file to check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "driftcar validate: --config is required")
		return 2
	}
	cfg, _, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, cfg.Summary())
	return 0
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	pprof := fs.Bool("pprof", false, "serve /debug/pprof on the admin address")
	xdsAddr := fs.String("xds", "", "xDS control plane host:port; routing comes from it")
	nodeID := fs.String("node-id", "", "xDS node id (default $POD_NAME)")
	nodeCluster := fs.String("node-cluster", "", "xDS node cluster (default $POD_NAMESPACE)")
	level := zapcore.InfoLevel
	fs.Var(&level, "log-level", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "driftcar run: --config is required")
		return 2
	}
	logCfg := zap.NewProductionConfig()
	logCfg.Level = zap.NewAtomicLevelAt(level)
	logCfg.Sampling = nil
	log, err := logCfg.Build()
	if err != nil {
		fmt.Fprintf(stderr, "driftcar: cannot build logger: %v\n", err)
		return 1
	}
	defer func() { _ = log.Sync() }()

	s, err := sidecar.New(sidecar.Options{ConfigPath: *path, Logger: log, Pprof: *pprof, XDS: *xdsAddr != ""})
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *xdsAddr != "" {
		if err := startXDS(ctx, s, *xdsAddr, *nodeID, *nodeCluster, *path, log); err != nil {
			log.Error("cannot start the xDS client", zap.Error(err))
			return 1
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := s.Run(ctx, reload); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with error", zap.Error(err))
		return 1
	}
	return 0
}

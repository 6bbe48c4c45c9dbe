package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// k8sJob is the part of a Kubernetes Job manifest the test reads.
type k8sJob struct {
	Kind string `yaml:"kind"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    uint64 `yaml:"completions"`
		Parallelism    uint64 `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string         `yaml:"restartPolicy"`
				Containers    []k8sContainer `yaml:"containers"`
				Volumes       []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		ValueFrom *struct {
			FieldRef struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

// TestDeployManifest reads deploy/vopr-swarm-job.yaml and checks that its
// pods would run: the container's command line is one `vopr swarm`
// accepts (the real flag parsing, in every pod's environment), the
// Indexed Job has as many completions and pods as the shard count, each
// pod runs as many seeds at once as the CPUs it requests, the reports go to
// the claimed volume, and every $(VAR) in the arguments is defined for
// Kubernetes to expand.
func TestDeployManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "vopr-swarm-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job k8sJob
	if err := yaml.Unmarshal(data, &job); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	spec := &job.Spec
	if job.Kind != "Job" || spec.CompletionMode != "Indexed" || spec.Template.Spec.RestartPolicy != "Never" ||
		len(spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want an Indexed Job of one container that is never restarted in place: %+v", job)
	}
	c := spec.Template.Spec.Containers[0]
	line := append(append([]string{}, c.Command...), c.Args...)
	if len(line) < 2 || filepath.Base(line[0]) != "vopr" || line[1] != "swarm" {
		t.Fatalf("the container runs %q, want vopr swarm ...", line)
	}
	checkExpandable(t, &c)
	var count uint64
	for index := range spec.Completions {
		env := func(name string) (string, bool) {
			return strconv.FormatUint(index, 10), name == jobCompletionIndex
		}
		var stderr bytes.Buffer
		cfg, err := parseSwarmFlags(line[2:], &stderr, env)
		if err != nil {
			t.Fatalf("pod %d: vopr swarm refuses %q: %v %s", index, line[2:], err, stderr.String())
		}
		if cfg.shard.index != index {
			t.Fatalf("pod %d runs shard %s", index, cfg.shard)
		}
		count = cfg.shard.count
		checkReportsOnVolume(t, cfg, &c, &job)
		if cpus := c.Resources.Requests["cpu"]; cpus != strconv.Itoa(cfg.jobs) {
			t.Fatalf("--jobs %d on a pod that requests %q CPUs", cfg.jobs, cpus)
		}
	}
	if count == 0 || spec.Completions != count || spec.Parallelism != count {
		t.Fatalf("completions %d and parallelism %d, want both equal to the shard count %d",
			spec.Completions, spec.Parallelism, count)
	}
}

// checkExpandable: Kubernetes expands $(NAME) in args only for variables
// the container's env defines; the completion index must come from the
// pod's annotation.
func checkExpandable(t *testing.T, c *k8sContainer) {
	t.Helper()
	defined := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			defined[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	for _, arg := range c.Args {
		for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(arg, -1) {
			if _, ok := defined[m[1]]; !ok {
				t.Errorf("argument %q uses $(%s), which the container's env does not define", arg, m[1])
			}
		}
	}
	for name, path := range defined {
		if path != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			t.Errorf("env %s comes from %q, not the completion index", name, path)
		}
	}
}

// checkReportsOnVolume: the reports and the summary land on the volume
// the pod mounts from the claim.
func checkReportsOnVolume(t *testing.T, cfg *swarmConfig, c *k8sContainer, job *k8sJob) {
	t.Helper()
	mounted := ""
	for _, m := range c.VolumeMounts {
		for _, v := range job.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != "" {
				mounted = m.MountPath
			}
		}
	}
	if mounted == "" || cfg.reportDir != mounted || !strings.HasPrefix(cfg.jsonPath, mounted+"/") || cfg.duration <= 0 {
		t.Fatalf("reports in %q, summary %q, duration %s: want both on the claimed volume at %q, and a --duration",
			cfg.reportDir, cfg.jsonPath, cfg.duration, mounted)
	}
}

package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// NodeREDVersion is the node-red version pinned in nodered/package.json.
const NodeREDVersion = "4.1.8"

// NodeREDResult is one line of nodered/run.js: a workload timed inside the
// Node-RED runtime.
type NodeREDResult struct {
	Workload string  `json:"workload"`
	NsPerOp  float64 `json:"ns_per_op"`
	Ops      int     `json:"ops"`
	Note     string  `json:"note"`
	Result   any     `json:"result"`
}

// NodeREDDir finds bench/nodered from the working directory.
func NodeREDDir() string {
	for _, base := range []string{"nodered", "../nodered", "../../nodered"} {
		if _, err := os.Stat(filepath.Join(base, "run.js")); err == nil {
			p, err := filepath.Abs(base)
			if err == nil {
				return p
			}
			return base
		}
	}
	return "nodered"
}

// NodeREDMissing says why Node-RED cannot run here ("" when it can be
// installed and run): node and npm must be on PATH.
func NodeREDMissing() string {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not on PATH"
		}
	}
	return ""
}

// NodeREDInstalled reports whether nodered/node_modules holds node-red.
func NodeREDInstalled() bool {
	_, err := os.Stat(filepath.Join(NodeREDDir(), "node_modules", "node-red", "package.json"))
	return err == nil
}

// InstallNodeRED runs nodered/install.sh (npm ci / npm install in that folder).
func InstallNodeRED() error {
	dir := NodeREDDir()
	cmd := exec.Command("sh", filepath.Join(dir, "install.sh"))
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// NodeRED runs nodered/run.js on items against the http service at url ("" skips
// the http workload) and returns its results. opsScale multiplies the number
// of timed ops of every workload (1 for the table, less for tests); only, when
// not empty, picks workloads by name.
func NodeRED(items []any, url string, opsScale float64, only ...string) ([]NodeREDResult, error) {
	if m := NodeREDMissing(); m != "" {
		return nil, errors.New(m)
	}
	f, err := os.CreateTemp("", "flowbench-items-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(items); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	dir := NodeREDDir()
	args := []string{filepath.Join(dir, "run.js"), "--items", f.Name(),
		"--calls", strconv.Itoa(Calls), "--rounds", strconv.Itoa(Rounds), "--pages", strconv.Itoa(Pages),
		"--ops-scale", strconv.FormatFloat(opsScale, 'g', -1, 64)}
	if url != "" {
		args = append(args, "--url", url)
	}
	if len(only) > 0 {
		args = append(args, "--only", strings.Join(only, ","))
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node run.js: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var out []NodeREDResult
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue // Node-RED's own log lines, if any
		}
		var r NodeREDResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("node run.js: %v in %q", err, line)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("node run.js printed no results\n%s%s", stdout.String(), stderr.String())
	}
	return out, nil
}

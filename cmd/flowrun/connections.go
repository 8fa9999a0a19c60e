package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/value"
)

// Named connections (--connections DIR): one file per connection, its name
// the file's name without the extension. A project's connections are the
// files in DIR/<project name>/ when that directory exists, else the files
// in DIR itself; serving several projects, each needs its own directory.

// connDir is the connection files of one project in a --connections
// directory.
type connDir struct {
	dir   string            // where the files are: DIR or DIR/<project>
	files map[string]string // name -> path
	names []string          // sorted
	own   bool              // dir is DIR/<project>
}

// connExts are the extensions of connection files; other files are
// ignored, and so are hidden ones (a write in progress is .connection-*).
var connExts = []string{".yaml", ".yml", ".json"}

// scanConnections lists the connection files of project in dir.
func scanConnections(dir, project string) (*connDir, error) {
	d, skipped, err := scanConnectionsSkipping(dir, project)
	if err != nil {
		return nil, err
	}
	if len(skipped) > 0 {
		return nil, skipped[0]
	}
	if len(d.names) == 0 {
		return nil, usageErr("no connection files (%s) in %s", strings.Join(connExts, ", "), relPath(d.dir))
	}
	return d, nil
}

// scanConnectionsSkipping is scanConnections that leaves out the files
// whose name is refused (a reload goes on without them) and returns why in
// skipped; no files is not an error.
func scanConnectionsSkipping(dir, project string) (d *connDir, skipped []error, err error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, nil, usageErr("--connections: %v", err)
	}
	if !fi.IsDir() {
		return nil, nil, usageErr("--connections %s is not a directory (give a connection file with --connection FILE)", relPath(dir))
	}
	d = &connDir{dir: dir, files: map[string]string{}}
	if fi, err := os.Stat(filepath.Join(dir, project)); err == nil && fi.IsDir() {
		d.dir, d.own = filepath.Join(dir, project), true
	}
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, nil, usageErr("--connections: %v", err)
	}
	dup := map[string]bool{}
	for _, ent := range ents {
		name := ent.Name()
		ext := filepath.Ext(name)
		if ent.IsDir() || strings.HasPrefix(name, ".") || !containsString(connExts, strings.ToLower(ext)) {
			continue
		}
		path := filepath.Join(d.dir, name)
		base := strings.TrimSuffix(name, ext)
		if !trigger.ValidTriggerID(base) {
			skipped = append(skipped, usageErr("connection file %s: a connection's name (the file's name) may hold only letters, digits, '-', '_' and '.'", relPath(path)))
			continue
		}
		if other, ok := d.files[base]; ok {
			skipped = append(skipped, usageErr("connection files %s and %s are both named %q: keep one", relPath(other), relPath(path), base))
			dup[base] = true
			continue
		}
		d.files[base] = path
	}
	for base := range dup { // neither of two files of one name is served
		delete(d.files, base)
	}
	for base := range d.files {
		d.names = append(d.names, base)
	}
	sort.Strings(d.names)
	return d, skipped, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// path is the file of the connection named name.
func (d *connDir) path(name string) (string, error) {
	if p, ok := d.files[name]; ok {
		return p, nil
	}
	msg := fmt.Sprintf("no connection %q in %s (its connections: %s)", name, relPath(d.dir), strings.Join(d.names, ", "))
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if _, ok := d.files[base]; ok && base != name {
		msg += fmt.Sprintf("; with --connections, --connection takes a name: %q", base)
	} else if hint := value.Suggest(name, d.names); hint != "" {
		msg += "; " + hint
	}
	return "", usageErr("%s", msg)
}

// hostConnection is the connection a trigger-host command runs with: the
// file --connection names, or, with --connections DIR, the named
// connection --connection NAME picks (named is its name). With
// --connections and no --connection, it is an empty connection until
// bindTrigger picks the trigger's.
func hostConnection(e *env, p *lang.Project, o *hostOptions) (conn *connection.Connection, named string, err error) {
	if o.connections == "" {
		conn, err = loadConnection(e, p, o.connection)
		return conn, "", err
	}
	d, err := scanConnections(o.connections, p.Connector.Name)
	if err != nil {
		return nil, "", err
	}
	if o.connection == "" {
		return &connection.Connection{Params: map[string]any{}}, "", nil
	}
	path, err := d.path(o.connection)
	if err != nil {
		return nil, "", err
	}
	conn, err = loadConnection(e, p, path)
	return conn, o.connection, err
}

// bindTrigger makes h run with the connection trigger t was turned on
// with: with --connections DIR, the trigger's named connection from DIR
// (--connection NAME, when given, must be that one); without, t must have
// been turned on with --connection FILE.
func bindTrigger(e *env, h *trigger.Host, o *hostOptions, t *trigger.Trigger) error {
	switch {
	case o.connections == "" && t.Connection != "":
		return usageErr("trigger %s runs with the named connection %q: give --connections DIR", t.ID, t.Connection)
	case o.connections == "":
		return nil
	case t.Connection == "":
		return usageErr("trigger %s was turned on with --connection FILE, not a named connection: give --connection FILE instead of --connections", t.ID)
	case o.connection != "" && o.connection != t.Connection:
		return usageErr("trigger %s runs with connection %q, not %q", t.ID, t.Connection, o.connection)
	case h.Named == t.Connection:
		return nil
	}
	d, err := scanConnections(o.connections, h.Runner.Project.Connector.Name)
	if err != nil {
		return err
	}
	path, err := d.path(t.Connection)
	if err != nil {
		return err
	}
	conn, err := loadConnection(e, h.Runner.Project, path)
	if err != nil {
		return err
	}
	h.Runner = &run.Runner{Project: h.Runner.Project, Connection: conn, Limits: h.Runner.Limits}
	h.Named, h.ConnectionName = t.Connection, t.Connection
	return nil
}

// requireNamed refuses a command that turns a trigger on (or picks one by
// flow) with --connections but no --connection NAME.
func requireNamed(o *hostOptions, project string) error {
	if o.connections != "" && o.connection == "" {
		names := ""
		if d, err := scanConnections(o.connections, project); err == nil {
			names = ": one of " + strings.Join(d.names, ", ")
		}
		return usageErr("--connections needs --connection NAME, the connection the trigger runs with%s", names)
	}
	return nil
}

// serveHosts makes the hosts of `flowrun serve --connections DIR`: one per
// project and connection file, sharing st. The first is returned; the
// others are its Peers. newHost fills in what every host shares.
func serveHosts(e *env, projects []string, dir string, newHost func(*run.Runner) *trigger.Host) (*trigger.Host, []string, *connReloader, error) {
	rl := &connReloader{dir: dir, conns: map[string]*servedConn{}, newHost: newHost}
	var hosts []*trigger.Host
	var served []string
	flat := "" // the project using DIR's own files
	seen := map[string]string{}
	for _, arg := range projects {
		p, err := loadProject(e, arg)
		if err != nil {
			return nil, nil, nil, err
		}
		name := p.Connector.Name
		if other, ok := seen[name]; ok {
			return nil, nil, nil, usageErr("%s and %s are both project %q", relPath(other), relPath(arg), name)
		}
		seen[name] = arg
		rl.projects = append(rl.projects, p)
		// a file that is refused is skipped, as a reload skips it: one
		// connection's broken file does not keep the others from serving
		d, bad, err := scanConnectionsSkipping(dir, name)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, b := range bad {
			fmt.Fprintf(e.stderr, "flowrun: %s; skipped (fix it, then send serve SIGHUP)\n", errText(b))
		}
		if len(d.names) == 0 && len(bad) == 0 {
			return nil, nil, nil, usageErr("no connection files (%s) in %s", strings.Join(connExts, ", "), relPath(d.dir))
		}
		if !d.own {
			if flat != "" {
				// one file hosted twice would refresh its token twice
				return nil, nil, nil, usageErr("projects %q and %q would share the connection files in %s: put each project's connections in %s",
					flat, name, relPath(dir), filepath.Join(relPath(dir), "<project name>"))
			}
			flat = name
		}
		for _, n := range d.names {
			conn, err := loadConnection(e, p, d.files[n]) // prints the file's problems
			if err != nil {
				fmt.Fprintf(e.stderr, "flowrun: connection %s of project %s is skipped: %s (fix it, then send serve SIGHUP)\n", n, name, errText(err))
				continue
			}
			h := newHost(&run.Runner{Project: p, Connection: conn})
			h.Named, h.ConnectionName = n, n
			rl.conns[name+"/"+n] = &servedConn{host: h, path: d.files[n], sum: fileSum(d.files[n])}
			hosts = append(hosts, h)
			served = append(served, name+"/"+n)
		}
	}
	if len(hosts) == 0 {
		return nil, nil, nil, usageErr("no connection in %s could be loaded (see the problems above)", relPath(dir))
	}
	first := hosts[0]
	first.Peers = hosts[1:]
	rl.hub = first
	return first, served, rl, nil
}

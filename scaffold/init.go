package scaffold

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/flowrun/flowrun/schema"
)

//go:embed templates
var templates embed.FS

// Auth schemes and trigger kinds that Init offers.
var (
	AuthKinds    = []string{"none", "basic", "bearer", "header", "oauth2"}
	TriggerKinds = []string{"none", "webhook", "poll"}
)

// Options configure Init.
type Options struct {
	// Name is the connector's name; default: the directory's base name in snake_case.
	Name string
	// Auth is one of AuthKinds; default "none".
	Auth string
	// BaseURL is the default of the base_url connection parameter.
	BaseURL string
	// Trigger is one of TriggerKinds; default "none".
	Trigger string
}

// DefaultBaseURL is the base URL of a project started without --base-url.
const DefaultBaseURL = "https://api.example.com/v1"

// Init writes a new connector project into dir (which must not exist or be
// empty): connector.yaml, an authping flow, an action that calls a helper, a
// poll or webhook flow if asked, passing tests, a connection example, a
// README and the JSON Schemas that the files' modelines point at.
func Init(dir string, o Options) (*Result, error) {
	if err := o.fill(dir); err != nil {
		return nil, err
	}
	if err := checkEmpty(dir); err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.BaseURL)
	data := map[string]any{
		"Name":            o.Name,
		"Title":           titleOf(o.Name),
		"Auth":            o.Auth,
		"AuthText":        authText[o.Auth],
		"Trigger":         o.Trigger,
		"BaseURLText":     str(o.BaseURL),
		"PathPrefix":      strings.TrimSuffix(u.EscapedPath(), "/"),
		"EnvPrefix":       strings.ToUpper(o.Name),
		"TestConnection":  testConnection(o.Auth, o.BaseURL),
		"AuthHeaderMatch": authHeaderMatch[o.Auth],
	}
	files := map[string]string{}
	err := fs.WalkDir(templates, "templates/init", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "templates/init/"), ".tmpl")
		switch rel {
		case "flows/new_items.yaml":
			if o.Trigger != "poll" {
				return nil
			}
		case "flows/item_events.yaml":
			if o.Trigger != "webhook" {
				return nil
			}
		case "tests/name.yaml":
			rel = "tests/" + o.Name + ".yaml"
		case "gitignore":
			rel = ".gitignore"
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(rel).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		files[rel] = b.String()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("init templates: %w", err)
	}
	addSchemas(files)
	written, err := writeFiles(dir, files)
	if err != nil {
		return nil, err
	}
	return &Result{Dir: dir, Files: written}, nil
}

func (o *Options) fill(dir string) error {
	if o.Name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		o.Name = snake(filepath.Base(abs))
		if !validName(o.Name) {
			return fmt.Errorf("cannot make a connector name from %q: give --name (a lower-case letter, then a-z, 0-9 and _)", filepath.Base(abs))
		}
	} else if !validName(o.Name) {
		return fmt.Errorf("--name %q is not a connector name: use a lower-case letter, then a-z, 0-9 and _ (such as %q)", o.Name, snake(o.Name))
	}
	if o.Auth == "" {
		o.Auth = "none"
	}
	if !contains(AuthKinds, o.Auth) {
		return fmt.Errorf("--auth %q: use one of %s", o.Auth, strings.Join(AuthKinds, ", "))
	}
	if o.Trigger == "" {
		o.Trigger = "none"
	}
	if !contains(TriggerKinds, o.Trigger) {
		return fmt.Errorf("--trigger %q: use one of %s", o.Trigger, strings.Join(TriggerKinds, ", "))
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--base-url %q: give an absolute http(s) URL without query, such as %s", o.BaseURL, DefaultBaseURL)
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var authText = map[string]string{
	"none":   "no authorisation",
	"basic":  "HTTP Basic: username and password",
	"bearer": "a bearer token",
	"header": "an API key in a header",
	"oauth2": "OAuth 2.0, authorization code grant",
}

var authHeaderMatch = map[string]string{
	"none":   "",
	"basic":  ", headers: {Authorization: Basic dGVzdC11c2VyOnRlc3QtcGFzc3dvcmQ=}",
	"bearer": ", headers: {Authorization: Bearer test-token}",
	"header": ", headers: {X-Api-Key: test-key}",
	"oauth2": ", headers: {Authorization: Bearer test-access-token}",
}

// testConnection is the connection of the generated test cases, as a flow value.
func testConnection(auth, baseURL string) string {
	params := map[string]any{"base_url": baseURL}
	conn := map[string]any{"params": params}
	switch auth {
	case "basic":
		params["username"], params["password"] = "test-user", "test-password"
	case "bearer":
		params["token"] = "test-token"
	case "header":
		params["api_key"] = "test-key"
	case "oauth2":
		params["client_id"], params["client_secret"] = "test-client", "test-secret"
		conn["token"] = testToken()
	}
	return flow(conn)
}

func testToken() map[string]any {
	return map[string]any{"access_token": "test-access-token", "expiry": "2099-01-01T00:00:00Z"}
}

// titleOf makes a title from a name: acme_crm -> Acme Crm.
func titleOf(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// addSchemas adds the editor schemas that the files' modelines point at.
func addSchemas(files map[string]string) {
	for _, kind := range []string{"connector", "flow", "test"} {
		if b, ok := schema.JSON(kind); ok {
			files[".flowrun/"+kind+".schema.json"] = strings.TrimRight(string(b), "\n") + "\n"
		}
	}
}

package lang

import (
	"time"

	"github.com/flowrun/flowrun/webhook"
)

// Project is a loaded, checked connector project: an immutable program that
// any number of runs may share.
type Project struct {
	Dir       string
	Connector *Connector
	Flows     map[string]*Flow
	Order     []string    // flow names, sorted
	Tests     []*TestFile // test suites under tests/, schema-checked
}

// Flow returns the named flow, or nil.
func (p *Project) Flow(name string) *Flow { return p.Flows[name] }

// TestFile is a test suite file, kept as its node tree for the test runner.
type TestFile struct {
	File string
	Node *Node
}

// Connector is connector.yaml.
type Connector struct {
	File        string
	Name        string
	Title       string
	Version     string
	Description string
	BaseURL     *Value
	Params      []*Field
	Auth        *Auth
	HTTP        HTTPDefaults
	Node        *Node
}

// Param returns the declared connection parameter, or nil.
func (c *Connector) Param(name string) *Field {
	for _, f := range c.Params {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// HTTPDefaults are the connector's defaults for every http step.
type HTTPDefaults struct {
	Timeout time.Duration
	Headers []NamedValue
	Retry   Retry
	// AllowedOrigins are origins (scheme://host[:port]) besides base_url's
	// that may receive the connection's credentials (http.allowed_origins).
	AllowedOrigins []string
	// OnResponse are the connector's response rules, tried after a step's
	// own. They are compiled in the connector's scope plus `response`.
	OnResponse []*ResponseRule
	RateLimit  *RateLimit // nil: the connector does not pace itself
}

// RuleAction is what a response rule does when its `when` holds.
type RuleAction uint8

// The actions of a response rule: exactly one per rule.
const (
	RuleFail    RuleAction = iota + 1 // raise an error
	RuleRetry                         // try the request again
	RuleSucceed                       // count the response as a success
)

func (a RuleAction) String() string {
	switch a {
	case RuleFail:
		return "fail"
	case RuleRetry:
		return "retry"
	case RuleSucceed:
		return "succeed"
	}
	return "none"
}

// ResponseRule is one `on_response` rule of an http step or of the
// connector's `http`: when When holds for a response, Action applies.
type ResponseRule struct {
	When   *Value
	Action RuleAction
	// fail: the error's message, code and details (Message may give a
	// whole error object, as `fail` steps may)
	Message, Code, Details *Value
	// retry: how long to wait, a duration or a number of seconds; nil or
	// an empty value waits as a retried status does
	After *Value
	Pos   Pos   // the rule's mapping
	Node  *Node // the rule's mapping, for positions of its keys
}

// RateLimit is how a connector paces its requests (`http.rate_limit`).
// The budget belongs to the connection, shared by every run that uses it.
type RateLimit struct {
	RemainingHeader   string        // lower case; "" when not read
	ResetHeader       string        // lower case; "" when not read
	RequestsPerSecond float64       // 0: no client-side budget
	MaxWait           time.Duration // a longer wait fails with code throttled
}

// Retry is a retry policy for http steps.
type Retry struct {
	Attempts   int // total attempts, including the first
	On         []int
	Backoff    time.Duration
	MaxBackoff time.Duration
	Set        bool // the policy was written (not the built-in default)
}

// Auth is how requests are authorised.
type Auth struct {
	Type     string // none | basic | bearer | header | oauth2
	Username *Value
	Password *Value
	Token    *Value
	Header   string
	HeaderV  *Value
	OAuth2   *OAuth2
	Pos      Pos
}

// OAuth2 configures OAuth 2.0 for a connector.
type OAuth2 struct {
	Grant        string // authorization_code | client_credentials
	AuthorizeURL *Value
	TokenURL     *Value
	RefreshURL   *Value
	Scopes       []string
	ClientAuth   string // basic | post
	ClientID     *Value
	ClientSecret *Value
}

// NamedValue is a key and its compiled value, in file order.
type NamedValue struct {
	Name  string
	Value *Value
}

// Field is a declared input, output, connection parameter or nested property.
type Field struct {
	Name        string
	Type        string // string number integer boolean datetime object list any
	Required    bool
	Default     any
	HasDefault  bool
	Title       string
	Description string
	Enum        []any
	Secret      bool
	Items       *Field
	Properties  []*Field
	Pos         Pos
}

// Flow is one flow file.
type Flow struct {
	File        string
	Name        string
	Type        FlowType
	Title       string
	Description string
	Inputs      []*Field
	Outputs     []*Field
	Steps       []Step
	Timeout     time.Duration

	// webhook flows
	Verify        *Verify
	Register      []Step
	Deregister    []Step
	HasDeregister bool // false: `trigger off` only forgets the registration
	Event         []Step

	// poll flows
	Schedule time.Duration
	Dedupe   *Value

	Pos  Pos
	Node *Node

	// Analyses, computed once by the checker so that runs only read them.

	UsesFlow bool                // some expression of the flow reads `flow`
	Reads    StepReads           // what its expressions read of `steps`
	Writes   [NumSections]Writes // what each section's steps write

	// InputsEscape: some expression uses `inputs` as a whole value (not
	// only inputs.<name>), so the map of a call's arguments may outlive the
	// call; when false, a call recycles that map (run.execCall).
	InputsEscape bool

	// LoopInputs are the inputs whose only use is as the whole list of a
	// for_each (`for_each: ${ inputs.<name> }`): nothing but that loop
	// reads them, one item at a time, so a run may hand them over still
	// undecoded (value.LazyList, run.Runner.Run).
	LoopInputs map[string]bool
}

// Section is one list of steps of a flow.
type Section uint8

// The sections of a flow: Steps for action, helper, authping, revoke and
// poll flows; Register, Deregister and Event for webhook flows.
const (
	SectionSteps Section = iota
	SectionRegister
	SectionDeregister
	SectionEvent
	NumSections
)

var sectionNames = [NumSections]string{"steps", "register", "deregister", "event"}

func (s Section) String() string { return sectionNames[s] }

// ParseSection returns the section named s ("steps", "register", ...).
func ParseSection(s string) (Section, bool) {
	for i, n := range sectionNames {
		if n == s {
			return Section(i), true
		}
	}
	return 0, false
}

// Section returns the steps of one section.
func (f *Flow) Section(s Section) []Step {
	switch s {
	case SectionRegister:
		return f.Register
	case SectionDeregister:
		return f.Deregister
	case SectionEvent:
		return f.Event
	}
	return f.Steps
}

// Writes says what a section's steps (and everything nested in them) write,
// so that a run skips making maps nobody writes.
type Writes struct {
	Vars  bool // a set step
	Steps bool // a step with an id
}

// StepReads is what a flow's expressions read of `steps`, found from its
// compiled programs, so that a run can skip building results nobody reads
// (an http step's response headers). It errs on the side of "read":
// anything the analysis cannot follow counts as reading everything.
type StepReads struct {
	All    bool                       // `steps` itself, or steps[<not a constant>]
	Whole  map[string]bool            // steps.<id> read as a whole
	Fields map[string]map[string]bool // steps.<id>.<field>
}

// ReadsField reports whether steps.<id>.<field> (or more) may be read.
func (u *StepReads) ReadsField(id, field string) bool {
	return u.All || u.Whole[id] || u.Fields[id][field]
}

// Input returns the declared input, or nil.
func (f *Flow) Input(name string) *Field { return FindField(f.Inputs, name) }

// Output returns the declared output, or nil.
func (f *Flow) Output(name string) *Field { return FindField(f.Outputs, name) }

// FindField returns the field named name, or nil.
func FindField(fs []*Field, name string) *Field {
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Verify is how a webhook flow checks its deliveries: the scheme and its
// settings (checked and run by the webhook package), and the secret.
type Verify struct {
	webhook.Spec
	Secret *Value
	Pos    Pos
	Node   *Node // the verify: mapping, for positions of its keys
	Broken bool  // the schema found a problem in it
}

// Step is one step of a flow. The concrete types below form a closed set.
type Step interface {
	Base() *StepBase
}

// StepBase holds what every step has.
type StepBase struct {
	Kind StepKind
	ID   string
	Name string
	Pos  Pos
	Node *Node // the step's mapping, for positions of its parts
	// Broken: the schema found a problem in the step; the checker records
	// its id but checks nothing in it (a file with problems is never run)
	Broken bool
}

// Base returns the step's common part.
func (b *StepBase) Base() *StepBase { return b }

// Label names the step in traces and errors: its id, else its name, else its kind.
func (b *StepBase) Label() string {
	switch {
	case b.ID != "":
		return b.ID
	case b.Name != "":
		return b.Name
	}
	return string(b.Kind)
}

type SetStep struct {
	StepBase
	Vars []NamedValue
}

type HTTPStep struct {
	StepBase
	Method      string
	MethodValue *Value // when the method is an expression; Method is then ""
	QueryExpr   *Value // query given as one expression (an object), after Query
	HeadersExpr *Value // headers given as one expression (an object), after Headers
	Path        *Value
	URL         *Value
	Query       []NamedValue
	Headers     []NamedValue
	JSON        *Value
	HasJSON     bool
	Form        *Value
	Body        *Value
	NoAuth      bool
	Auth        *Auth
	Timeout     time.Duration
	Retry       *Retry
	Expect      []int
	ExpectAll   bool
	Paginate    *Paginate
	OnResponse  []*ResponseRule // tried before the connector's
	OmitNulls   bool            // send compact(json): null-valued keys left out
}

type Paginate struct {
	Items     *Value
	Next      *Value
	NextQuery []NamedValue
	MaxPages  int    // when constant
	MaxPagesV *Value // when an expression; MaxPages is then the default
	// EachPage are steps run once per page as it arrives, with `page` in
	// scope; with them, a page's items are not kept unless Collect says
	// which (HasEachPage: the key was written, even with no steps).
	EachPage    []Step
	HasEachPage bool
	Collect     *Value // with each_page: the items of this page to keep (a list)
	Node        *Node
}

// Streams reports a paginate that hands each page to steps instead of
// collecting every item.
func (p *Paginate) Streams() bool { return p != nil && p.HasEachPage }

type IfStep struct {
	StepBase
	Cond *Value
	Then []Step
	Else []Step
}

type SwitchCase struct {
	When  *Value
	Steps []Step
}

type SwitchStep struct {
	StepBase
	Cases      []SwitchCase
	Default    []Step
	HasDefault bool
}

type ForEachStep struct {
	StepBase
	Items           *Value
	As              string
	Index           string
	Steps           []Step
	Collect         *Value
	Concurrency     int
	ContinueOnError bool
}

type CallStep struct {
	StepBase
	Flow string
	With []NamedValue
}

type ReturnStep struct {
	StepBase
	Value *Value
}

type FailStep struct {
	StepBase
	Message *Value
	Code    *Value
	Details *Value
}

type TryStep struct {
	StepBase
	Try      []Step
	Catch    []Step
	HasCatch bool
}

type ContinueIfStep struct {
	StepBase
	Cond    *Value
	Message *Value
}

type LogStep struct {
	StepBase
	Message *Value
}

type WaitStep struct {
	StepBase
	Duration *Value
	Fixed    time.Duration
}

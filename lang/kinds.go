package lang

// FlowType is the type of a flow, the `type:` of its file.
type FlowType string

// The flow types.
const (
	Action   FlowType = "action"   // what a user runs
	Helper   FlowType = "helper"   // called by other flows
	AuthPing FlowType = "authping" // is this connection working?
	Revoke   FlowType = "revoke"   // revoke the connection's token
	Webhook  FlowType = "webhook"  // register, receive and verify deliveries, deregister
	Poll     FlowType = "poll"     // run on a schedule, keep a cursor, emit new events
)

// FlowTypes lists the flow types.
var FlowTypes = []FlowType{Action, Helper, AuthPing, Revoke, Webhook, Poll}

// Article names a flow type with its article: "an action flow", "a poll flow".
func (t FlowType) Article() string {
	if t != "" && (t[0] == 'a' || t[0] == 'e' || t[0] == 'i' || t[0] == 'o' || t[0] == 'u') {
		return "an " + string(t) + " flow"
	}
	return "a " + string(t) + " flow"
}

// StepKind is the key that makes a mapping a step of that kind.
type StepKind string

// The step kinds.
const (
	KindSet        StepKind = "set"
	KindHTTP       StepKind = "http"
	KindIf         StepKind = "if"
	KindSwitch     StepKind = "switch"
	KindForEach    StepKind = "for_each"
	KindCall       StepKind = "call"
	KindReturn     StepKind = "return"
	KindFail       StepKind = "fail"
	KindTry        StepKind = "try"
	KindContinueIf StepKind = "continue_if"
	KindLog        StepKind = "log"
	KindWait       StepKind = "wait"
)

// StepKinds lists every step kind, in the order of the language reference.
var StepKinds = []StepKind{KindSet, KindHTTP, KindIf, KindSwitch, KindForEach, KindCall, KindReturn, KindFail, KindTry, KindContinueIf, KindLog, KindWait}

// StepCompanions lists the keys each kind allows beside its own key and
// id/name.
var StepCompanions = map[StepKind][]string{
	KindSet:        nil,
	KindHTTP:       nil,
	KindIf:         {"then", "else"},
	KindSwitch:     nil,
	KindForEach:    {"as", "index", "steps", "collect", "concurrency", "continue_on_error"},
	KindCall:       {"with"},
	KindReturn:     nil,
	KindFail:       nil,
	KindTry:        {"catch"},
	KindContinueIf: {"message"},
	KindLog:        nil,
	KindWait:       nil,
}

// StepKindOf returns the kind of a step mapping (the first key that names a
// kind), or "".
func StepKindOf(n *Node) StepKind {
	for _, k := range n.Keys {
		if _, ok := StepCompanions[StepKind(k.Str)]; ok {
			return StepKind(k.Str)
		}
	}
	return ""
}

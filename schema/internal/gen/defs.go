package gen

import "strings"

// Type names of fields (SPEC §2).
var typeNames = []string{"string", "number", "integer", "boolean", "datetime", "object", "list", "any"}

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

var authTypes = []string{"none", "basic", "bearer", "header", "oauth2"}

var flowTypes = []string{"action", "helper", "authping", "revoke", "webhook", "poll"}

const (
	namePattern     = `^[a-z][a-z0-9_]*$`
	identPattern    = `^[A-Za-z_][A-Za-z0-9_]*$`
	durationPattern = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`
	exprPattern     = `\$\{`
)

// defs returns every $defs entry; a document carries the ones it reaches.
func defs() map[string]*Node {
	d := map[string]*Node{}

	// ---- scalars ------------------------------------------------------

	d["version"] = o(
		"description", "The language version. Every flowrun file starts with `flowrun: 1`.",
		"markdownDescription", "The language version. Every flowrun file starts with `flowrun: 1`.",
		"const", 1,
		"errorMessage", "must be 1 (the language version)")
	d["name"] = o(
		"description", "A lower-case name: a letter, then letters, digits and _.",
		"type", "string",
		"pattern", namePattern,
		"errorMessage", "must start with a lower-case letter and hold only a-z, 0-9 and _")
	d["ident"] = o(
		"description", "A name usable in expressions: letters, digits and _, not starting with a digit.",
		"type", "string",
		"pattern", identPattern,
		"errorMessage", "must hold only letters, digits and _, and not start with a digit")
	d["bad_name"] = o(
		"description", "Not a valid name: names hold only letters, digits and _, and do not start with a digit.",
		"not", o(),
		"errorMessage", "names hold only letters, digits and _, and do not start with a digit")
	d["duration"] = o(
		"description", "A Go duration such as `500ms`, `30s`, `5m` or `1h30m`.",
		"markdownDescription", "A Go duration such as `500ms`, `30s`, `5m` or `1h30m`.",
		"type", "string",
		"pattern", durationPattern,
		"errorMessage", "must be a duration such as 500ms, 30s, 5m or 1h30m")
	d["duration_or_expr"] = o(
		"description", "A Go duration such as `500ms`, `30s` or `5m`, or a `${ expression }` that gives one.",
		"markdownDescription", "A Go duration such as `500ms`, `30s` or `5m`, or a `${ expression }` that gives one.",
		"type", "string",
		"pattern", `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$|\$\{`,
		"errorMessage", "must be a duration such as 500ms, 30s or 5m, or a ${ expression }")
	d["expr"] = o(
		"description", "An expression, written `${ ... }` (expr-lang syntax).",
		"markdownDescription", "An expression, written `${ ... }` ([expr-lang](https://expr-lang.org) syntax).",
		"type", "string",
		"pattern", exprPattern,
		"errorMessage", "must hold an expression written ${ ... }")
	d["condition"] = o(
		"description", "A condition: an expression written `${ ... }` whose value is tested for truth, or a literal true/false.",
		"markdownDescription", "A condition: an expression written `${ ... }` whose value is tested for truth, or a literal `true`/`false`.",
		"type", []string{"string", "boolean"},
		"pattern", exprPattern,
		"errorMessage", "must hold an expression written ${ ... }, such as ${ vars.count > 0 }")
	d["value"] = o(
		"description", "Any YAML value. Strings in it may hold `${ expressions }`, evaluated recursively; a string that is exactly one `${ ... }` keeps the expression's type.")
	d["template"] = o(
		"description", "Text that may hold `${ expressions }`; the parts are turned into text and joined.",
		"markdownDescription", "Text that may hold `${ expressions }`; the parts are turned into text and joined.",
		"type", "string")

	// ---- fields (SPEC §2) ---------------------------------------------

	d["type_name"] = o(
		"description", "A value type: string, number, integer, boolean, datetime (RFC 3339 text), object, list or any.",
		"enum", typeNames)
	d["field"] = o(
		"description", "A field: a type name (shorthand, `email: string` means `{type: string}`) or a mapping `{type, required, default, ...}`.",
		"markdownDescription", "A field: a type name (shorthand, `email: string` means `{type: string}`) or a mapping `{type, required, default, ...}`.",
		"type", []string{"string", "object"},
		"if", typ("string"),
		"then", ref("type_name"),
		"else", ref("field_object"))
	notList := []string{}
	notObject := []string{}
	for _, t := range typeNames {
		if t != "list" {
			notList = append(notList, t)
		}
		if t != "object" {
			notObject = append(notObject, t)
		}
	}
	d["field_object"] = closed("field",
		"A declared input, output or property.",
		[]prop{
			p("type", "The value's type; default `any`.", ref("type_name")),
			p("required", "Whether a value must be given (inputs) or returned (outputs). Default false.", boolean()),
			p("default", "The value used when none is given; filled in before the first step.", anyValue()),
			p("title", "A short human label.", str()),
			p("description", "What the field means, for people and generated docs.", str()),
			p("enum", "The only values allowed.", listOf(anyValue()).with("minItems", 1)),
			p("secret", "A secret value (a password, an API key): it never appears in traces, errors, logs or recordings.", boolean()),
			p("items", "For `type: list`: the type of the items, a type name or a field.", ref("field")),
			p("properties", "For `type: object`: the fields of the object.", ref("fields")),
		}).with("allOf", allOf(
		when(keyIn("type", notList...), o("properties", o("items", forbid("is only used with type: list")))),
		when(keyIn("type", notObject...), o("properties", o("properties", forbid("is only used with type: object")))),
	))
	d["fields"] = describe(mapOf(ref("field")),
		"Fields by name; each is a type name such as `string` or a mapping `{type, required, default, ...}`.")

	// ---- HTTP defaults, retry, auth (SPEC §1, §4) ---------------------

	d["retry"] = closed("retry",
		"How failed requests are retried. Retries honour `Retry-After` and happen before `expect` is applied.",
		[]prop{
			p("attempts", "How many times a request is tried in all, the first try included; 1 disables retries.", integer(1)),
			p("on", "The HTTP statuses that are retried (network errors always are).", listOf(status())),
			p("backoff", "The wait before the first retry; it doubles for each further retry.", ref("duration")),
			p("max_backoff", "The longest wait between two tries.", ref("duration")),
		})
	d["header_values"] = describe(freeMap(typ("string", "number", "boolean")),
		"HTTP headers by name; values may hold `${ expressions }`.")
	d["http_defaults"] = closed("http defaults",
		"Defaults for every `http` step of the connector.",
		[]prop{
			p("timeout", "How long one request may take, e.g. `30s`.", ref("duration")),
			p("headers", "Headers sent with every request, e.g. `Accept: application/json`.", ref("header_values")),
			p("retry", "How failed requests are retried; a step's `retry` overrides it.", ref("retry")),
			p("allowed_origins", "Origins besides `base_url`'s that may receive the connection's credentials (auth headers and headers holding secrets), e.g. `[https://uploads.example.com]`. "+
				"An origin is `scheme://host[:port]` with no path. Requests (`url:`, redirects, next pages) to any other origin are sent without credentials.",
				listOf(o("type", "string", "pattern", `^[hH][tT][tT][pP][sS]?://[^/?#@\s${}]+$`,
					"errorMessage", "must be an origin, scheme://host[:port] with no path, e.g. https://uploads.example.com"))),
			p("on_response", "Rules tried on every response of every `http` step (every page of `paginate`), after the step's own `on_response`: the first whose `when` holds fails, retries or accepts the response. They see `response`, `connection` and `connector`.", ref("on_response")),
			p("rate_limit", "How the connector paces itself: a budget of the connection, shared by every run and trigger that uses it.", ref("rate_limit")),
		})
	d["response_retry"] = closed("on_response retry",
		"Tries the request again, counted against `retry.attempts`.",
		[]prop{
			p("after", "How long to wait first: a duration such as `30s`, a number of seconds, or an expression giving either, e.g. `${ response.headers['retry-after'] }`. Left out, null or empty: the wait of a retried status (`Retry-After` and rate-limit reset headers, else the backoff).",
				o("type", []string{"string", "number"}, "minimum", 0)),
		})
	d["response_rule"] = closed("on_response rule",
		"A response rule: when `when` holds for a response, exactly one of `fail`, `retry` or `succeed` applies.",
		[]prop{
			p("when", "The rule's condition, e.g. `${ response.body.ok == false }`; it sees `response` (`{status, headers, body}`) and every name the step sees. A condition that cannot be evaluated for a response (a field of a text body) does not match.", ref("condition")),
			p("fail", "Fails the step: a message, or `{message, code, details}`. The error also carries the response's `status`, `headers` and `body`; without a `code`, it has its status's code (`http_error`; `auth_expired` for 401 and 403, `throttled` for 429, `transient` for 5xx).", ref("fail")),
			p("retry", "Tries the request again, e.g. `{after: 30s}`; `{}` waits as a retried status does.", ref("response_retry")),
			p("succeed", "`true`: the response counts as a success, whatever `expect` and `retry.on` say.", o("const", true, "errorMessage", "must be true (leave the rule out otherwise)")),
		}, "when").with("allOf", allOf(atMostOne("fail", "retry", "succeed"), needsOneOf("fail", "retry", "succeed")))
	d["on_response"] = describe(listOf(ref("response_rule")),
		"Response rules, tried in order; the first whose `when` holds acts. A step's rules come before the connector's.")
	d["rate_limit"] = closed("rate_limit",
		"Pacing of the connector's requests. The budget belongs to the connection: concurrent loop iterations and every trigger of the connection in one `flowrun serve` share it.",
		[]prop{
			p("remaining_header", "A response header giving the requests left in the current window, e.g. `x-rate-limit-remaining`; at 0, later requests wait for the reset.", str()),
			p("reset_header", "A response header giving when the window resets: Unix seconds when the number is above 10^9, else seconds from now, e.g. `x-rate-limit-reset`.", str()),
			p("requests_per_second", "A client-side budget: requests are spaced to at most this many a second.", o("type", "number", "exclusiveMinimum", 0)),
			p("max_wait", "The longest a request waits for the budget (or a retry for a reset); a longer wait fails the step with code `throttled`. Default `60s`.", ref("duration")),
		})
	d["basic_auth"] = closed("basic auth",
		"HTTP Basic authorisation.",
		[]prop{
			p("username", "The user name, e.g. `${ connection.username }`.", ref("template")),
			p("password", "The password, e.g. `${ connection.password }`.", ref("template")),
		}, "username")
	d["bearer_auth"] = closed("bearer auth",
		"A bearer token, sent as `Authorization: Bearer <token>`.",
		[]prop{
			p("token", "The token, e.g. `${ connection.api_token }`.", ref("template")),
		}, "token")
	d["header_auth"] = closed("header auth",
		"A header carrying a credential, such as an API key.",
		[]prop{
			p("name", "The header name, e.g. `Authorization` or `X-Api-Key`.", str()),
			p("value", "The header value, e.g. `SSWS ${ connection.api_key }`.", ref("template")),
		}, "name", "value")
	d["oauth2"] = closed("oauth2 auth",
		"OAuth 2.0. The connection holds the `token` (`access_token`, `refresh_token`, `expiry`); an expired access token is refreshed.",
		[]prop{
			p("grant", "The grant type: `authorization_code` (a user consents in a browser) or `client_credentials` (machine to machine).",
				enum("authorization_code", "client_credentials")),
			p("authorize_url", "The authorisation endpoint a user is sent to (authorization_code grant).", ref("template")),
			p("token_url", "The token endpoint.", ref("template")),
			p("refresh_url", "The endpoint that refreshes tokens; default `token_url`.", ref("template")),
			p("scopes", "The scopes requested.", listOf(str())),
			p("client_auth", "How the client authenticates at the token endpoint: `basic` (HTTP Basic, the default) or `post` (client_id and client_secret in the form body).",
				enum("basic", "post")),
			p("client_id", "The OAuth client id, e.g. `${ connection.client_id }`.", ref("template")),
			p("client_secret", "The OAuth client secret, e.g. `${ connection.client_secret }`.", ref("template")),
		}, "grant", "token_url").with("allOf", allOf(
		when(keyIn("grant", "authorization_code"), o("required", []string{"authorize_url"})),
	))
	authConds := []*Node{}
	for _, t := range authTypes[1:] {
		var others []string
		for _, u := range authTypes {
			if u != t {
				others = append(others, u)
			}
		}
		// type: t needs the key t, unless another scheme's key is there:
		// then the one error is that key's, below.
		var otherKeys []any
		for _, u := range authTypes[1:] {
			if u != t {
				otherKeys = append(otherKeys, o("required", []string{u}))
			}
		}
		authConds = append(authConds, whenElse(
			keyIn("type", t),
			when(o("not", o("anyOf", otherKeys)), o("required", []string{t})),
			when(keyIn("type", others...), o("properties", o(t, forbid("is only used with type: "+t))))))
	}
	d["auth"] = closed("auth",
		"How requests are authorised: `type` picks the scheme, and the key of the same name holds its settings.",
		[]prop{
			p("type", "The scheme: `none`, `basic`, `bearer`, `header` or `oauth2`.", enum(authTypes...)),
			p("basic", "Settings of `type: basic`.", ref("basic_auth")),
			p("bearer", "Settings of `type: bearer`.", ref("bearer_auth")),
			p("header", "Settings of `type: header`.", ref("header_auth")),
			p("oauth2", "Settings of `type: oauth2`.", ref("oauth2")),
		}, "type").with("allOf", authConds)
	d["connection"] = closed("connection",
		"What a user supplies when creating a connection, and how requests are authorised with it.",
		[]prop{
			p("params", "The connection's parameters by name, read in expressions as `connection.<name>`.", ref("fields")),
			p("auth", "How requests are authorised.", ref("auth")),
		})

	// ---- the http step -------------------------------------------------

	d["paginate"] = closed("paginate",
		"Follows pages: the step's result becomes `{items, pages}`, the items of all pages in order; with `each_page`, steps run on each page as it arrives and only what `collect` gives is kept.",
		[]prop{
			p("items", "The items of one page, e.g. `${ response.body.data }`.", ref("expr")),
			p("next", "The next page's URL, e.g. `${ linkNext(response.headers.link) }`; null or empty stops.", ref("template")),
			p("next_query", "Query parameters for the next page, e.g. `{after: ${ response.body.next_cursor }}`; null or empty stops.", anyValue()),
			p("max_pages", "The most pages fetched, or an expression giving the number, e.g. `${ inputs.max_pages }`. Default 100.",
				o("type", []string{"integer", "string"}, "minimum", 1, "pattern", exprPattern,
					"errorMessage", "must be a number of pages (1 or more) or a ${ expression }")),
			p("each_page", "Steps run once per page, as it arrives, before the next page is fetched; they see `page` (`{items, number}`) and `response`. With them the step keeps no items unless `collect` says which, so memory stays flat however many pages there are.", ref("steps")),
			p("collect", "With `each_page`: the items of this page to keep in the step's `items`, a list, e.g. `${ map(page.items, .id) }`; evaluated after the page's steps. Default: none.", anyValue()),
		}, "items").with("allOf", allOf(atMostOne("next", "next_query"), needsOneOf("next", "next_query")))
	d["expect"] = o(
		"description", "The statuses that count as success: a status, a list of statuses, or `any`. Default: any 2xx. Any other status raises an error carrying `status` and `body`.",
		"markdownDescription", "The statuses that count as success: a status, a list of statuses, or `any`. Default: any 2xx. Any other status raises an error carrying `status` and `body`.",
		"type", []string{"integer", "array", "string"},
		"minimum", 100, "maximum", 599,
		"items", status(),
		"if", typ("string"),
		"then", o("const", "any", "errorMessage", "must be a status, a list of statuses, or any"))
	d["http_request"] = closed("http step",
		"An HTTP request. The result is `{status, headers, body}`; with `paginate`, `{items, pages}`.",
		[]prop{
			p("method", "The HTTP method, default `GET`; or an expression giving one (e.g. a Custom API Action's `${ inputs.method }`).",
				o("type", "string", "if", o("pattern", exprPattern), "else", enum(httpMethods...))),
			p("path", "A path joined to the connector's `base_url`, e.g. `/users/${ urlEncode(inputs.id) }`.", ref("template")),
			p("url", "An absolute URL, used instead of `path`.", ref("template")),
			p("query", "Query parameters; a key whose value is null is left out.", typ("object", "string")),
			p("headers", "Request headers, added to the connector's default headers.", typ("object", "string")),
			p("json", "A body sent as JSON; `json: null` sends no body.", anyValue()),
			p("form", "A body sent as `application/x-www-form-urlencoded`.", typ("object", "string")),
			p("body", "A raw text body.", ref("template")),
			p("auth", "`false` skips the connection's authorisation; a mapping overrides it for this request.",
				o("type", []string{"boolean", "object"},
					"if", typ("boolean"),
					"then", o("const", false, "errorMessage", "must be false or an auth mapping"),
					"else", ref("auth"))),
			p("timeout", "How long the request may take; default the connector's `http.timeout`.", ref("duration")),
			p("retry", "Overrides the connector's `http.retry` for this request.", ref("retry")),
			p("expect", "The statuses that count as success: a status, a list, or `any`. Default: any 2xx.", ref("expect")),
			p("paginate", "Follows pages and collects their items, or hands each page to `each_page` steps.", ref("paginate")),
			p("on_response", "Rules tried on every response (every page of `paginate`) before the connector's `http.on_response`: the first whose `when` holds fails, retries or accepts the response.", ref("on_response")),
			p("omit_nulls", "`true`: the `json` body is sent with null-valued keys left out, recursively (`compact(json)`); list items are kept. Default false.", boolean()),
		}).with("allOf", allOf(
		atMostOne("path", "url"),
		needsOneOf("path", "url"),
		atMostOne("json", "form", "body"),
	))

	// ---- steps (SPEC §4) ----------------------------------------------

	d["steps"] = describe(listOf(ref("step")), "Steps, run in order.")
	stepDefs(d)

	// ---- webhook and poll flows (SPEC §3) ------------------------------

	d["verify"] = closed("verify",
		"Checks a webhook request's signature before `event` runs; a request that fails gets 401 and runs no step.",
		[]prop{
			p("scheme", "`hmac_sha256`: an HMAC-SHA256 of the signed payload in `header`; `standard_webhooks`: the Standard Webhooks scheme (webhook-id, webhook-timestamp and webhook-signature headers); `shared_secret`: `header` carries the secret itself (Okta event hooks), compared in constant time.",
				enum("hmac_sha256", "standard_webhooks", "shared_secret")),
			p("header", "The header that carries the signature, e.g. `X-Acme-Signature` (hmac_sha256).", str()),
			p("secret", "The signing secret, e.g. `${ registration.secret }`; or a list of secrets while one is rotated, any of which may sign a request.",
				o("type", []string{"string", "array"}, "items", ref("template"), "minItems", 1)),
			p("format", "How the header carries the digest: `{hex}` or `{base64}` marks the digest, e.g. `sha256={hex}`, or key={placeholder} pairs such as `t={timestamp},v1={hex}`. Several signatures in one header (comma- or space-separated) are each tried. Default `{hex}`.", str()),
			p("timestamp_header", "Optional: a header carrying the request's Unix timestamp, for replay protection and for `{timestamp}` in `signed_payload`.", str()),
			p("tolerance", "Optional: how far the timestamp may be from now; older or newer requests fail. Default `5m` when a timestamp is checked.", ref("duration")),
			p("signed_payload", "Optional: what is signed, with `{body}` (the raw body) and `{timestamp}` (from `timestamp_header` or a `t={timestamp}` pair of `format`); e.g. `v0:{timestamp}:{body}`. Default `{body}`.", str()),
		}, "scheme", "secret").with("allOf", allOf(
		when(keyIn("scheme", "hmac_sha256", "shared_secret"), o("required", []string{"header"})),
	))
	d["register"] = closed("register",
		"Registers the webhook with the service. Sees `webhook.url` and `webhook.secret`; what it returns is stored as `registration`.",
		[]prop{p("steps", "The steps that register the webhook.", ref("steps"))}, "steps")
	d["deregister"] = closed("deregister",
		"Removes the webhook from the service. Sees `registration`. Optional: without it, `flowrun trigger off` only forgets the registration.",
		[]prop{p("steps", "The steps that remove the webhook.", ref("steps"))}, "steps")
	d["event"] = closed("event",
		"Turns one webhook request into events. Sees `request` and `registration`; returns `{events: [...], response?}`.",
		[]prop{p("steps", "The steps that handle a request.", ref("steps"))}, "steps")

	// ---- test suites (SPEC §7) -----------------------------------------

	d["token"] = closed("token",
		"An OAuth 2.0 token.",
		[]prop{
			p("access_token", "The access token.", str()),
			p("refresh_token", "The refresh token.", str()),
			p("expiry", "When the access token expires (RFC 3339).", str()),
		})
	d["test_connection"] = closed("test connection",
		"The connection the case runs with.",
		[]prop{
			p("params", "The connection's parameters by name.", freeMap(anyValue())),
			p("token", "For OAuth 2.0: the token.", ref("token")),
		})
	d["matcher"] = o(
		"description", "A matcher, where a mock's request (query, headers, json) or an expectation gives a value: `{$any: true}` (present, any value), `{$regex: \"...\"}` (the value, as text, matches this Go regular expression; anchor it with ^ and $) or `{$absent: true}` (the key is missing).",
		"markdownDescription", "A matcher, where a mock's request (`query`, `headers`, `json`) or an expectation gives a value: `{$any: true}` (present, any value), `{$regex: \"...\"}` (the value, as text, matches this Go regular expression; anchor it with `^` and `$`) or `{$absent: true}` (the key is missing).",
		"title", "matcher",
		"type", "object",
		"minProperties", 1, "maxProperties", 1,
		"additionalProperties", false,
		"properties", props([]prop{
			p("$any", "The key is present, whatever its value (null included).", o("const", true, "errorMessage", "must be true")),
			p("$regex", "The value, as text, matches this Go regular expression (RE2 syntax; unanchored unless it says ^ and $).", str()),
			p("$absent", "The key (header, query parameter) is missing.", o("const", true, "errorMessage", "must be true")),
		}))
	d["mock_value"] = o(
		"description", "A value the request must carry, or a matcher: `{$any: true}`, `{$regex: \"^[0-9a-f-]{36}$\"}`, `{$absent: true}`. null means the key must be absent.",
		"markdownDescription", "A value the request must carry, or a matcher: `{$any: true}`, `{$regex: \"^[0-9a-f-]{36}$\"}`, `{$absent: true}`. `null` means the key must be absent.",
		"anyOf", []*Node{typ("string", "number", "boolean", "null", "array"), ref("matcher")})
	d["mock_request"] = closed("mock request",
		"What a request must look like to match this mock. Keys left out match anything; values may be matchers (`{$any: true}`, `{$regex: ...}`, `{$absent: true}`).",
		[]prop{
			p("method", "The HTTP method.", enum(httpMethods...)),
			p("path", "The URL path, without the query string, e.g. `/api/v2/users`.", str()),
			p("query", "Query parameters the request must carry (others may be present). A value may be a matcher; `{$absent: true}` (or null) requires the parameter to be missing.", freeMap(ref("mock_value"))),
			p("headers", "Headers the request must carry (others may be present); names match case-insensitively. A value may be a matcher.", freeMap(ref("mock_value"))),
			p("json", "The JSON body: by default, the request's body must contain these keys with these values; with `json_exact`, equal it. Values anywhere in it may be matchers, e.g. `id: {$regex: \"^[0-9a-f-]{36}$\"}` for a generated UUID.", anyValue()),
			p("json_exact", "Match `json` exactly rather than as a subset. Default false.", boolean()),
			p("body", "The raw text body, matched exactly.", str()),
		}).with("allOf", allOf(atMostOne("json", "body")))
	d["mock_response"] = closed("mock response",
		"The response the mock answers with, or a network fault.",
		[]prop{
			p("status", "The HTTP status. Default 200.", status()),
			p("headers", "Response headers.", freeMap(typ("string", "number", "boolean"))),
			p("json", "A JSON body (sets `Content-Type: application/json`).", anyValue()),
			p("json_file", "A JSON body read from this file, named relative to the test file's directory (sets `Content-Type: application/json`). Keep fixtures out of `.yaml` names under tests/, which are suites.", str().with("minLength", 1)),
			p("body", "A raw text body.", str()),
			p("body_file", "A raw body read from this file, named relative to the test file's directory.", str().with("minLength", 1)),
			p("fault", "A network fault instead of a response: `connection_refused` (retried for any method), `timeout` or `reset` (retried for idempotent methods), as the live service's failures would be. The flow's error has code `transient`.", enum("connection_refused", "timeout", "reset")),
		}).with("allOf", allOf(
		atMostOne("json", "json_file", "body", "body_file"),
		when(o("required", []string{"fault"}), o("properties", o(
			"status", forbid(`cannot be used together with "fault"`),
			"headers", forbid(`cannot be used together with "fault"`),
			"json", forbid(`cannot be used together with "fault"`),
			"json_file", forbid(`cannot be used together with "fault"`),
			"body", forbid(`cannot be used together with "fault"`),
			"body_file", forbid(`cannot be used together with "fault"`)))),
	))
	d["mock"] = closed("mock",
		"One mocked HTTP exchange: a request to match and the response to give. A mock answers once unless `times` says otherwise; among the mocks that match a request, the first one not used up answers.",
		[]prop{
			p("request", "What a request must look like to match.", ref("mock_request")),
			p("response", "The response to give. Default `{status: 200}`.", ref("mock_response")),
			p("times", "How many requests this mock answers, and must answer: a number (default 1), or `any` for any number, at least one (a `times: any` mock answers only requests that no other mock answers).", o("anyOf", []*Node{integer(1), o("const", "any")}, "errorMessage", "must be a number of requests (1 or more) or any")),
		}, "request")
	d["webhook_request"] = closed("webhook request",
		"The webhook request delivered to the flow (seen as `request`).",
		[]prop{
			p("method", "The HTTP method. Default `POST`.", enum(httpMethods...)),
			p("path", "The request path.", str()),
			p("headers", "Request headers; names are lower-cased as the flow sees them.", freeMap(typ("string", "number", "boolean"))),
			p("query", "Query parameters.", freeMap(anyValue())),
			p("body", "The body; a mapping or list is sent as JSON.", anyValue()),
			p("raw", "The raw body text, sent as is (use it to test signatures byte for byte).", str()),
			p("json_file", "The body read from this JSON file (named relative to the test file's directory), sent byte for byte with `Content-Type: application/json` unless `headers` gives one.", str().with("minLength", 1)),
			p("body_file", "The raw body read from this file (named relative to the test file's directory), sent byte for byte.", str().with("minLength", 1)),
		}).with("allOf", allOf(atMostOne("body", "raw", "json_file", "body_file")))
	d["expected_response"] = closed("expected response",
		"The response the webhook sender must get.",
		[]prop{
			p("status", "The expected status.", status()),
			p("headers", "Headers the response must carry.", freeMap(anyValue())),
			p("body", "The expected body.", anyValue()),
		})
	d["test_case"] = closed("test case",
		"One test case: a flow run against mocked HTTP, and what it must produce.",
		[]prop{
			p("name", "The case's name, shown in reports.", str().with("minLength", 1)),
			p("flow", "The name of the flow under test.", ref("name")),
			p("skip", "Skips the case; the text says why.", str()),
			p("connection", "The connection the case runs with.", ref("test_connection")),
			p("inputs", "The flow's inputs.", freeMap(anyValue())),
			p("http", "The mocked HTTP exchanges. A request no mock matches fails the case, naming the request and the nearest mock.", listOf(ref("mock"))),
			p("ordered", "Requests must match the mocks in the order they are listed. Default false. Rarely needed: a mock answers once, and the first matching mock not used up answers, so paginated and retried exchanges go in order anyway.", boolean()),
			p("now", "The case's clock (RFC 3339, e.g. `2026-11-02T08:00:00Z`): `now()` and `nowUTC()` in expressions, signature timestamps and Retry-After dates. Default 2026-01-01T00:00:00Z, or a webhook request's signed timestamp.", o("type", "string", "pattern", `^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`, "errorMessage", "must be an RFC 3339 time such as 2026-11-02T08:00:00Z")),
			p("seen", "Poll and webhook flows with `dedupe`: dedupe keys already seen; events with these keys, or repeating a key within the case, are dropped as `flowrun serve` drops them.", listOf(typ("string", "number"))),
			p("outputs", "The expected outputs (action and helper flows). Values may be matchers, e.g. `{$regex: \"^[0-9a-f-]{36}$\"}`.", anyValue()),
			p("partial", "Compare `outputs` and `events` as subsets: keys not listed are ignored. Default false.", boolean()),
			p("error", "The case expects the flow to fail with an error containing this text.", str()),
			p("events", "The expected events (webhook and poll flows).", listOf(anyValue())),
			p("cursor", "Poll flows: the input cursor (default null, as on a first run).", anyValue()),
			p("expect_cursor", "Poll flows: the expected new cursor.", anyValue()),
			p("request", "Webhook flows: the request delivered to `event`.", ref("webhook_request")),
			p("registration", "Webhook flows: the stored registration data the flow sees.", typ("object")),
			p("secret", "Webhook flows: the secret the runner signs `request` with, per the flow's `verify` (an error when the flow has no `verify`).", str()),
			p("signed", "Webhook flows: `false` sends `request` unsigned, to test that the flow refuses it. Default true.", boolean()),
			p("response", "Webhook flows: the response the sender must get.", ref("expected_response")),
		}, "name", "flow").with("allOf", allOf(atMostOne("outputs", "error"), atMostOne("events", "error")))

	return d
}

// stepKind describes one kind of step: the kind key and its companion keys.
type stepKind struct {
	kind       string
	desc       string
	s          *Node
	companions []prop
	required   []string
}

func stepKinds() []stepKind {
	return []stepKind{
		{kind: "set", desc: "Writes variables: `set: {name: value, ...}` writes `vars.<name>`.",
			s: mapOf(anyValue())},
		{kind: "http", desc: "Sends an HTTP request. Result: `{status, headers, body}`; with `paginate`, `{items, pages}`.",
			s: ref("http_request")},
		{kind: "if", desc: "Runs `then` when the condition holds, else `else`.",
			s: ref("condition"),
			companions: []prop{
				p("then", "Steps run when the `if` condition holds.", ref("steps")),
				p("else", "Steps run when the `if` condition does not hold.", ref("steps")),
			}, required: []string{"then"}},
		{kind: "switch", desc: "Runs the steps of the first case whose `when` holds, or the final `default`.",
			s: listOf(ref("switch_item")).with("minItems", 1)},
		{kind: "for_each", desc: "Runs `steps` once per item of a list. Result: the list of `collect` values, in input order.",
			s: o("type", []string{"string", "array"}, "pattern", exprPattern,
				"errorMessage", "must hold an expression written ${ ... }, such as ${ inputs.items }"),
			companions: []prop{
				p("as", "The loop variable holding the item. Default `item`.", ref("ident")),
				p("index", "The loop variable holding the item's index. Default `index`.", ref("ident")),
				p("steps", "The loop body.", ref("steps")),
				p("collect", "A value computed after each iteration; the step's result is the list of them.", anyValue()),
				p("concurrency", "How many iterations run at once. Default 1 (in order). With more, the body may not `set` variables that exist outside the loop.", integer(1)),
				p("continue_on_error", "A failed iteration contributes nothing and the loop goes on. Default false.", boolean()),
			}, required: []string{"steps"}},
		{kind: "call", desc: "Calls another flow; the result is its outputs.",
			s: ref("name"),
			companions: []prop{
				p("with", "The called flow's inputs.", typ("object", "string")),
			}},
		{kind: "return", desc: "Ends the flow with these outputs.",
			s: typ("object", "string", "null")},
		{kind: "fail", desc: "Raises an error: `fail: message` or `fail: {message, code, details}`; in a `catch`, `fail: ${ error }` raises the caught error again, unchanged.",
			s: ref("fail")},
		{kind: "try", desc: "Runs steps; if one fails, runs `catch`, which sees `error`.",
			s: ref("steps"),
			companions: []prop{
				p("catch", "Steps run when a `try` step fails; they see `error` (`{message, code, status, headers, body, details, retry_after, step, flow}`).", ref("steps")),
			}, required: []string{"catch"}},
		{kind: "continue_if", desc: "When the condition is false: skips the rest of this loop iteration, or ends the flow quietly at top level.",
			s: ref("condition"),
			companions: []prop{
				p("message", "Why the rest was skipped, for traces.", ref("template")),
			}},
		{kind: "log", desc: "Writes a trace line.", s: ref("template")},
		{kind: "wait", desc: "Pauses, e.g. `wait: 2s`.", s: ref("duration_or_expr")},
	}
}

func stepDefs(d map[string]*Node) {
	common := []prop{
		p("id", "Names the step, so later steps read its result as `steps.<id>`.", ref("ident")),
		p("name", "A label for traces.", str()),
	}
	kinds := stepKinds()
	var names []string
	for _, k := range kinds {
		names = append(names, k.kind)
	}

	// One closed schema per kind; `step` picks the first whose key is present.
	for _, k := range kinds {
		ps := append([]prop{}, common...)
		ps = append(ps, p(k.kind, k.desc, k.s))
		ps = append(ps, k.companions...)
		d[k.kind+"_step"] = closed(k.kind+" step", k.desc, ps, append([]string{k.kind}, k.required...)...)
	}
	d["step_without_kind"] = o(
		"description", "A step needs one kind key: "+strings.Join(names, ", ")+".",
		"not", o(),
		"errorMessage", "needs one kind key: "+strings.Join(names, ", "))

	var chain *Node = ref("step_without_kind")
	for i := len(kinds) - 1; i >= 0; i-- {
		k := kinds[i]
		chain = whenElse(o("required", []string{k.kind}), ref(k.kind+"_step"), chain)
	}

	// Every key, documented, for completion; the kind schemas check them.
	var all []prop
	for _, c := range common {
		all = append(all, p(c.name, c.desc, o()))
	}
	seen := map[string]bool{"id": true, "name": true}
	for _, k := range kinds {
		all = append(all, p(k.kind, k.desc, o()))
		seen[k.kind] = true
	}
	for _, k := range kinds {
		for _, c := range k.companions {
			if !seen[c.name] {
				seen[c.name] = true
				all = append(all, p(c.name, c.desc, o()))
			}
		}
	}
	step := o("title", "step")
	step = describe(step, "A step: a mapping with one kind key ("+strings.Join(names, ", ")+"), plus optional `id` and `name`.")
	step = step.with("type", "object").with("properties", props(all))
	for _, e := range chain.kvs {
		step = step.with(e.k, e.v)
	}
	d["step"] = step

	d["fail"] = o("title", "fail",
		"description", "An error message, or `{message, code, details}`.",
		"markdownDescription", "An error message, or `{message, code, details}`.",
		"type", []string{"string", "object"},
		"properties", props([]prop{
			p("message", "The error message.", ref("template")),
			p("code", "A machine-readable error code, e.g. `not_found` (text); default `failed`.", ref("template")),
			p("details", "Any further data carried by the error.", anyValue()),
		}),
		"required", []string{"message"},
		"additionalProperties", false)

	d["switch_case"] = closed("switch case",
		"A case: its steps run when `when` holds and no earlier case's did.",
		[]prop{
			p("when", "The case's condition, e.g. `${ inputs.kind == \"user\" }`.", ref("condition")),
			p("steps", "The steps run for this case.", ref("steps")),
		}, "when", "steps")
	d["switch_default"] = closed("switch default",
		"The final item: steps run when no case matched.",
		[]prop{
			p("default", "The steps run when no case matched.", ref("steps")),
		}, "default")
	d["switch_item"] = o(
		"description", "A case `{when, steps}`, or the final `{default: [...]}`.",
		"markdownDescription", "A case `{when, steps}`, or the final `{default: [...]}`.",
		"type", "object",
		"properties", props([]prop{
			p("when", "The case's condition.", o()),
			p("steps", "The steps run for this case.", o()),
			p("default", "The steps run when no case matched (final item only).", o()),
		}),
		"if", o("required", []string{"default"}),
		"then", ref("switch_default"),
		"else", ref("switch_case"))
}

// Package connection owns connection files: the parameters and OAuth 2.0
// token of one account of a service (with `{env: NAME}` values resolved and
// checked against the connector's declared parameters), the secrets they
// hold and their redaction from anything that leaves the process, and
// writing a refreshed token or a revocation back to the file (atomically,
// mode 0600).
package connection

// Package graph is a small typed client for the parts of Microsoft Graph that mfactl needs:
// hardware OATH token inventory and assignment (beta only), users and their authentication
// methods, session revocation, and the registration, sign-in and audit reports.
//
// It is written over net/http on purpose: the Graph SDKs lack the beta hardware OATH API, cannot
// send the bulk collection PATCH, and cost minutes and gigabytes to build. Tokens come from a
// TokenSource (azidentity sits behind it in the binary; tests use StaticToken).
//
// Every request carries a fresh client-request-id and a timeout; throttling (429) and transient
// failures (503, 504) are retried honouring Retry-After, but a POST that may have been applied is
// never sent twice. Failures are *Error values that carry the Graph code, the HTTP status and
// both request ids, so Microsoft support can trace them. Debug logging redacts secret keys,
// verification codes and the Authorization header wherever they appear.
package graph

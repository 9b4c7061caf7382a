# Developer tasks. The build itself needs nothing but `go build ./cmd/mfactl`.

GO ?= go

.PHONY: bench bench-pskc

# bench runs the comparisons of SPEC section 12 against peer tools (slow: minutes).
bench: bench-pskc

# bench-pskc: `mfactl tokens convert` vs python-pskc's pskc2csv on 100,000 TOTP keys,
# plaintext and AES-128-CBC + HMAC-SHA1 (needs: apt-get install -y time pskc-utils python3-pskc).
bench-pskc:
	GO=$(GO) scripts/bench-pskc.sh

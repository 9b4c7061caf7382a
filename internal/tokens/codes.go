package tokens

// Problem codes, as docs/formats.md lists them. They are stable API: scripts and the JSON
// output of `tokens validate` depend on them, so never rename one.
const (
	CodeCSVHeader        = "csv.header"
	CodeCSVDelimiter     = "csv.delimiter"
	CodeCSVColumns       = "csv.columns"
	CodeCSVEncoding      = "csv.encoding"
	CodeCSVColumnUnknown = "csv.column-unknown"
	// CodeCSVQuote: encoding/csv rejects a stray or unterminated quote, and that row cannot be
	// split into fields at all, so none of the field rules apply. It also covers a record too
	// long to be a token row (an unterminated quote swallowing the rest of the file), which
	// ends the reading.
	CodeCSVQuote = "csv.quote"

	CodeUPNEmpty   = "upn.empty"
	CodeUPNInvalid = "upn.invalid"
	// CodeUPNInvisible and the other *.invisible and *.control codes: a format, bidirectional,
	// zero-width or private-use character makes two different values look the same, and a
	// control character drives the terminal the value is listed on.
	CodeUPNInvisible = "upn.invisible"
	// CodeUPNMixedScript warns of a label mixing Latin, Cyrillic or Greek letters, the way a
	// look-alike of another name is made.
	CodeUPNMixedScript = "upn.mixed-script"

	CodeSerialEmpty     = "serial.empty"
	CodeSerialExcel     = "serial.excel"
	CodeSerialDuplicate = "serial.duplicate"
	CodeSerialControl   = "serial.control"
	CodeSerialInvisible = "serial.invisible"

	CodeSecretEmpty    = "secret.empty"
	CodeSecretHex      = "secret.hex"
	CodeSecretBase32   = "secret.base32"
	CodeSecretLength   = "secret.length"
	CodeSecretTooLong  = "secret.too-long"
	CodeSecretShort    = "secret.short"
	CodeSecretLooksHex = "secret.looks-hex"
	CodeSecretReused   = "secret.reused"
	// CodeSecretInvalidHex: with --secret-encoding hex the field must be an even number of hex
	// digits; secret.hex would be the wrong advice there.
	CodeSecretInvalidHex = "secret.invalid-hex"

	CodeIntervalInvalid   = "interval.invalid"
	CodeManufacturerEmpty = "manufacturer.empty"
	CodeModelEmpty        = "model.empty"
	// The free-text codes CheckText gives: "<column>.control" and "<column>.invisible".
	CodeManufacturerControl   = ColManufacturer + ".control"
	CodeManufacturerInvisible = ColManufacturer + ".invisible"
	CodeModelControl          = ColModel + ".control"
	CodeModelInvisible        = ColModel + ".invisible"
	CodeIssuerControl         = ColIssuer + ".control"
	CodeIssuerInvisible       = ColIssuer + ".invisible"
	CodeUserLimit             = "user.limit"
	CodeUserUnknown           = "user.unknown"

	// Codes for token facts from other formats (PSKC), checked by Rules.CheckKey.
	CodeAlgorithmUnsupported = "algorithm.unsupported"
	CodeDigitsUnsupported    = "digits.unsupported"
	CodeHashUnsupported      = "hash.unsupported"
)

// The canonical column names of the Azure OATH CSV, in the order the writer uses. Problems
// name their column with these.
const (
	ColUPN          = "upn"
	ColSerial       = "serial number"
	ColSecret       = "secret key"
	ColInterval     = "time interval"
	ColManufacturer = "manufacturer"
	ColModel        = "model"
	// ColIssuer is not an Azure column: PSKC names a key's issuer, checked as free text.
	ColIssuer = "issuer"
)

// Columns lists the six columns of the Azure OATH CSV in their canonical order.
var Columns = []string{ColUPN, ColSerial, ColSecret, ColInterval, ColManufacturer, ColModel}

// Limits of the token rules (docs/formats.md; MaxMethods is in token.go).
const (
	// MaxSecretBase32 is the longest secret, in unpadded Base32 characters, the cloud accepts.
	MaxSecretBase32 = 128
	// MinSecretBytes is the secret length RFC 4226 asks for (128 bits).
	MinSecretBytes = 16
)

func errorAt(line int, column, code, msg string) Problem {
	return Problem{Line: line, Column: column, Severity: SeverityError, Code: code, Message: msg}
}

func warningAt(line int, column, code, msg string) Problem {
	return Problem{Line: line, Column: column, Severity: SeverityWarning, Code: code, Message: msg}
}

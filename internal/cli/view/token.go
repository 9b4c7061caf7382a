package view

import (
	"strconv"

	"github.com/mfactl/mfactl/internal/directory"
)

// Token is a token in listings: tokens list, tokens show and report tokens
// --unused-for. The secret is not part of it: no output format can carry it. Times are RFC
// 3339 UTC; null means never.
type Token struct {
	SerialNumber   string  `json:"serial_number"`
	UPN            string  `json:"upn"`
	Status         string  `json:"status"`
	Manufacturer   string  `json:"manufacturer"`
	Model          string  `json:"model"`
	TimeInterval   int     `json:"time_interval"`
	Hash           string  `json:"hash"`
	Digits         int     `json:"digits"`
	Drift          int     `json:"drift"`
	FailedAttempts int     `json:"failed_attempts"`
	CreatedAt      *string `json:"created_at"`
	ActivatedAt    *string `json:"activated_at"`
	LastUsedAt     *string `json:"last_used_at"`
}

// NewToken is the view of t.
func NewToken(t directory.Token) Token {
	return Token{
		SerialNumber:   t.Serial,
		UPN:            t.UPN,
		Status:         string(t.Status),
		Manufacturer:   t.Manufacturer,
		Model:          t.Model,
		TimeInterval:   t.Period,
		Hash:           t.Hash,
		Digits:         t.Digits,
		Drift:          t.Drift,
		FailedAttempts: t.FailedAttempts,
		CreatedAt:      TimeJSON(t.CreatedAt),
		ActivatedAt:    TimeJSON(t.ActivatedAt),
		LastUsedAt:     TimeJSON(t.LastUsedAt),
	}
}

// TokenHeader names the columns of the table and CSV listings, in the order of the JSON
// fields. The columns the importer reads carry the importer's names (upn, serial number,
// time interval, manufacturer, model), so a listing joined with the vendor's secrets can be
// imported again; the secret key column is never written.
var TokenHeader = []string{
	"serial number", "upn", "status", "manufacturer", "model", "time interval", "hash", "digits", "drift",
	"failed attempts", "created at", "activated at", "last used at",
}

// Cells is v as table or CSV cells, in the order of TokenHeader; timeCell formats the times
// (TimeCells).
func (v Token) Cells(timeCell func(*string) string) []string {
	return []string{
		v.SerialNumber, v.UPN, v.Status, v.Manufacturer, v.Model, strconv.Itoa(v.TimeInterval), v.Hash,
		strconv.Itoa(v.Digits), strconv.Itoa(v.Drift), strconv.Itoa(v.FailedAttempts),
		timeCell(v.CreatedAt), timeCell(v.ActivatedAt), timeCell(v.LastUsedAt),
	}
}

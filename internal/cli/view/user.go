package view

import (
	"strconv"

	"github.com/mfactl/mfactl/internal/store"
)

// User is a user in listings (SPEC section 10). Every command that prints users reuses it, so
// each shows a user the same way.
type User struct {
	UPN             string `json:"upn"`
	DisplayName     string `json:"display_name"`
	Email           string `json:"email"`
	Phone           string `json:"phone"`
	State           string `json:"state"`
	MustRegister    bool   `json:"must_register"`
	Methods         int    `json:"methods"`
	TokensActivated int    `json:"tokens_activated"`
	TokensPending   int    `json:"tokens_pending"`
	AppPasswords    int    `json:"app_passwords"`
}

// NewUser is the view of u.
func NewUser(u store.User) User {
	return User{
		UPN:             u.UPN,
		DisplayName:     u.DisplayName,
		Email:           u.Email,
		Phone:           u.Phone,
		State:           string(u.State),
		MustRegister:    u.MustRegister,
		Methods:         u.Methods,
		TokensActivated: u.TokensActivated,
		TokensPending:   u.TokensPending,
		AppPasswords:    u.AppPasswords,
	}
}

// UserHeader names the table and CSV columns, in the order of the JSON fields. The first four
// are the columns `users import` reads, so `users list -o csv` can be imported again.
var UserHeader = []string{
	"upn", "display name", "email", "phone", "state", "must register", "methods", "tokens activated",
	"tokens pending", "app passwords",
}

// Cells is v as table or CSV cells, in the order of UserHeader.
func (v User) Cells() []string {
	return []string{
		v.UPN, v.DisplayName, v.Email, v.Phone, v.State, strconv.FormatBool(v.MustRegister),
		strconv.Itoa(v.Methods), strconv.Itoa(v.TokensActivated), strconv.Itoa(v.TokensPending),
		strconv.Itoa(v.AppPasswords),
	}
}

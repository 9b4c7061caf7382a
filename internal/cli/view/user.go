package view

import (
	"strconv"

	"github.com/mfactl/mfactl/internal/directory"
)

// User is a user in listings. Every command that prints users reuses it, so each shows a user
// the same way, with the fields in the order of `users list`'s help. It comes in two parts so
// that a view which adds a field in the middle (the registration report's blocked_reason,
// after state) keeps that order by embedding them on either side of it.
type User struct {
	UserIdentity
	UserMethods
}

// UserIdentity is who a user is and their state: the first part of User.
type UserIdentity struct {
	UPN         string `json:"upn"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	State       string `json:"state"`
}

// UserMethods is what a user has registered: the second part of User.
type UserMethods struct {
	MustRegister    bool `json:"must_register"`
	Methods         int  `json:"methods"`
	TokensActivated int  `json:"tokens_activated"`
	TokensPending   int  `json:"tokens_pending"`
	AppPasswords    int  `json:"app_passwords"`
}

// NewUser is the view of u.
func NewUser(u directory.User) User {
	return User{
		UserIdentity: UserIdentity{
			UPN:         u.UPN,
			DisplayName: u.DisplayName,
			Email:       u.Email,
			Phone:       u.Phone,
			State:       string(u.State),
		},
		UserMethods: UserMethods{
			MustRegister:    u.MustRegister,
			Methods:         u.Methods,
			TokensActivated: u.TokensActivated,
			TokensPending:   u.TokensPending,
			AppPasswords:    u.AppPasswords,
		},
	}
}

// UserIdentityHeader and UserMethodsHeader name the columns of the two parts of User; the
// first four are the columns `users import` reads, so `users list -o csv` can be imported
// again.
var (
	UserIdentityHeader = []string{"upn", "display name", "email", "phone", "state"}
	UserMethodsHeader  = []string{"must register", "methods", "tokens activated", "tokens pending", "app passwords"}
)

// UserHeader names the table and CSV columns of User, in the order of the JSON fields.
var UserHeader = append(UserIdentityHeader[:len(UserIdentityHeader):len(UserIdentityHeader)], UserMethodsHeader...)

// Cells is v as table or CSV cells, in the order of UserIdentityHeader.
func (v UserIdentity) Cells() []string {
	return []string{v.UPN, v.DisplayName, v.Email, v.Phone, v.State}
}

// Cells is v as table or CSV cells, in the order of UserMethodsHeader.
func (v UserMethods) Cells() []string {
	return []string{
		strconv.FormatBool(v.MustRegister), strconv.Itoa(v.Methods), strconv.Itoa(v.TokensActivated),
		strconv.Itoa(v.TokensPending), strconv.Itoa(v.AppPasswords),
	}
}

// Cells is v as table or CSV cells, in the order of UserHeader.
func (v User) Cells() []string { return append(v.UserIdentity.Cells(), v.UserMethods.Cells()...) }

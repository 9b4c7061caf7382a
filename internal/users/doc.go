// Package users is the domain of directory users and their MFA registrations: importing a users
// file, deleting users, resetting a registration so the user registers again, blocking and
// unblocking, app passwords and authenticator-app enrolment. It works on a consumer-side view of
// the directory (the *Store interfaces, which every directory.Directory implements) and never
// touches the terminal: commands render what it returns.
package users

package entra

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mfactl/mfactl/internal/auth"
	"github.com/mfactl/mfactl/internal/directory"
	"github.com/mfactl/mfactl/internal/graph"
	"github.com/mfactl/mfactl/internal/tokens"
)

// entraCodeDigits is the length of every code: Entra ID holds 6-digit tokens only.
const entraCodeDigits = 6

// Activate activates a hardware token with a code it shows, answering in the shape of a local
// activation (auth.Result). Entra ID checks the code itself: a token not yet assigned is
// assigned to opts.AssignTo and activated in one call (assignAndActivateBySerialNumber), an
// assigned one is activated on its owner's method. Graph keeps no drift and no failure count,
// so both stay 0, and the window is Entra ID's own, not opts.Window. Nothing is recorded
// locally: Entra ID keeps its own audit log. The code is never part of an error.
func (d *Directory) Activate(ctx context.Context, serial, code string, opts auth.ActivateOptions) (auth.Result, error) {
	code, err := tokens.NormalizeCode(code)
	if err == nil {
		err = tokens.CheckCodeLength(code, entraCodeDigits)
	}
	if err != nil {
		return auth.Result{}, fmt.Errorf("activating token %s: %w", serial, err)
	}
	r := auth.Result{Time: time.Now(), UPN: opts.AssignTo, Serial: serial, DeviceToken: serial, Mode: auth.ModeHardware}
	dev, err := d.device(ctx, serial)
	if err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			return deny(r, auth.CodeTokenUnknown, "token not found"), nil
		}
		return auth.Result{}, fmt.Errorf("activating token %s: %w", serial, err)
	}
	r.Serial, r.DeviceToken, r.Status = dev.SerialNumber, dev.SerialNumber, tokenStatus(dev.Status)
	ownerID := owner(dev)
	if ownerID != "" {
		if r.UPN, err = d.ownerUPN(ctx, ownerID); err != nil {
			return auth.Result{}, fmt.Errorf("activating token %s: %w", dev.SerialNumber, err)
		}
	}

	var userID string
	if opts.AssignTo != "" {
		u, err := d.c.GetUser(ctx, opts.AssignTo)
		if graph.IsNotFound(err) {
			err = &directory.NotFoundError{Kind: "user", Name: opts.AssignTo}
		}
		if err != nil {
			return auth.Result{}, fmt.Errorf("assigning token %s to %s: %w", dev.SerialNumber, opts.AssignTo, err)
		}
		if ownerID != "" && ownerID != u.ID {
			return auth.Result{}, fmt.Errorf("assigning token %s to %s: %w", dev.SerialNumber, opts.AssignTo,
				&directory.ConflictError{Msg: fmt.Sprintf("token %s is already assigned to %s", dev.SerialNumber, r.UPN)})
		}
		userID = u.ID
		r.UPN = u.UserPrincipalName
	}
	switch {
	case ownerID == "" && userID == "":
		return deny(r, auth.CodeTokenUnassigned, "token is not assigned to a user"), nil
	case dev.Status == graph.StatusActivated:
		// As locally: an activated token is not activated again (that would be a replay).
		return deny(r, auth.CodeTokenIsActivated, "token is already activated"), nil
	}

	if ownerID == "" {
		err = d.c.AssignAndActivateBySerialNumber(ctx, userID, dev.SerialNumber, code, "")
		r.Assigned = true
	} else {
		err = d.activateMethod(ctx, dev, ownerID, code)
	}
	switch {
	case err == nil:
		r.Success, r.Code, r.Status = true, auth.CodeActivated, directory.StatusActivated
		return r, nil
	case graph.IsBadRequest(err) && d.failedActivation(ctx, dev.SerialNumber):
		// Graph answers a wrong code with a 400 and leaves the token failedActivation; it
		// documents no error code of its own for it, and answers 400 for other refusals too (a
		// guest user, the method limit), so the token's status tells them apart. An
		// assignment made on the way stays.
		r.Status = directory.StatusFailedActivation
		return deny(r, auth.CodeIncorrect, "incorrect code"), nil
	case graph.IsBadRequest(err):
		// Refused for this token or user, not for the code: the row's failure in a bulk run.
		err = &directory.RefusedError{Err: err}
	}
	if ownerID == "" {
		return auth.Result{}, fmt.Errorf("assigning token %s to %s and activating it: %w", dev.SerialNumber, r.UPN, err)
	}
	return auth.Result{}, fmt.Errorf("activating token %s: %w", dev.SerialNumber, err)
}

// failedActivation reports whether Graph now holds the token as failedActivation: what a wrong
// code leaves. When the token cannot be read it says false, and the refusal is reported as it
// came.
func (d *Directory) failedActivation(ctx context.Context, serial string) bool {
	dev, err := d.device(ctx, serial)
	return err == nil && dev.Status == graph.StatusFailedActivation
}

// activateMethod activates the owner's method of the device; its id is read from the owner's
// methods rather than assumed to be the device's, which Graph does not promise.
func (d *Directory) activateMethod(ctx context.Context, dev graph.Device, ownerID, code string) error {
	methodID := dev.ID
	ms, err := d.c.ListUserOathMethods(ctx, ownerID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Device != nil && m.Device.ID == dev.ID {
			methodID = m.ID
			break
		}
	}
	return d.c.Activate(ctx, ownerID, methodID, code, "")
}

func deny(r auth.Result, code, reason string) auth.Result {
	r.Success, r.Code, r.Reason = false, code, reason
	return r
}

package api

import (
	"path/filepath"
	"strings"
)

// The checks the server makes before it calls the Backend; each answers a
// bad-request in one line that names the flag.

func badRequest(msg string) error { return errorf("bad-request", msg) }

func checkBackup(r *BackupRequest) error {
	switch {
	case r.StdinName == "" && len(r.Paths) == 0:
		return badRequest("backup: nothing to back up (give paths, or --stdin-from CMD --stdin-name NAME)")
	case r.StdinName != "" && len(r.Paths) > 0:
		return badRequest("backup: give paths or --stdin-name, not both")
	case r.StdinName != "" && (strings.ContainsAny(r.StdinName, `/\`) || r.StdinName == "." || r.StdinName == ".."):
		return badRequest("backup: --stdin-name must be a plain file name, without a slash")
	}
	for _, p := range r.Paths {
		if !filepath.IsAbs(p) {
			return badRequest("backup: path " + p + " is not absolute (the client resolves paths)")
		}
	}
	return nil
}

func checkLs(r *LsRequest) error {
	if r.Snapshot == "" {
		return badRequest("ls: which snapshot? (an ID or latest)")
	}
	return nil
}

func checkRestore(r *RestoreRequest) error {
	switch {
	case r.Snapshot == "":
		return badRequest("restore: which snapshot? (an ID or latest)")
	case r.Target == "":
		return badRequest("restore: where to? (--target DIR)")
	case !filepath.IsAbs(r.Target):
		return badRequest("restore: target " + r.Target + " is not absolute (the client resolves paths)")
	}
	return nil
}

func checkForget(r *ForgetRequest) error {
	if r.KeepLast < 0 || r.KeepDaily < 0 || r.KeepWeekly < 0 {
		return badRequest("forget: --keep-… counts cannot be negative")
	}
	if r.KeepLast+r.KeepDaily+r.KeepWeekly == 0 {
		return badRequest("forget: give at least one of --keep-last, --keep-daily, --keep-weekly (nothing would be kept)")
	}
	return nil
}

func checkInvite(r *InviteRequest) error {
	if r.Role != "" && r.Role != "storage" && r.Role != "client" {
		return badRequest("invite: --role is storage or client, not " + r.Role)
	}
	if r.TTL < 0 {
		return badRequest("invite: --ttl cannot be negative")
	}
	if r.MemberFor < 0 {
		return badRequest("invite: --expires cannot be negative")
	}
	return nil
}

func checkRevoke(r *RevokeRequest) error {
	if strings.TrimSpace(r.PeerID) == "" {
		return badRequest("revoke: which peer? (a peer ID, as 'respaldo peers' lists)")
	}
	return nil
}

func checkOperatorAdd(r *OperatorAddRequest) error {
	if len(r.PublicKey) != 64 || strings.Trim(strings.ToLower(r.PublicKey), "0123456789abcdef") != "" {
		return badRequest("operator add: the new operator's public key must be 64 hex characters")
	}
	return nil
}

func checkOperatorRemove(r *OperatorRemoveRequest) error {
	if len(r.Fingerprint) != 16 || strings.Trim(strings.ToLower(r.Fingerprint), "0123456789abcdef") != "" {
		return badRequest("operator remove: which key? (its fingerprint: 16 hex characters, as 'respaldo roster' shows in SIGNED BY)")
	}
	return nil
}

func checkRenew(r *RenewRequest) error {
	if strings.TrimSpace(r.PeerID) == "" {
		return badRequest("renew: which peer? (a peer ID, as 'respaldo peers' lists)")
	}
	if r.For <= 0 {
		return badRequest("renew: for how long? (--for DURATION, e.g. 720h)")
	}
	return nil
}

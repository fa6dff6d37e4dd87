package backup

import (
	"filippo.io/age"

	"respaldo/crypto"
	"respaldo/erasure"
)

// The few things this package needs of the member's keys, in one place.
// Writing needs only *crypto.WriteKeys; reading needs *crypto.MemberKeys.

func writeRecipient(w *crypto.WriteKeys) age.Recipient { return w.Recipient() }

func memberIdentity(m *crypto.MemberKeys) age.Identity { return m.Identity() }

// newSecrets draws a new stripe's public secrets: the nonce and the keys
// that check proofs of its deletion and read secrets.
func newSecrets(w *crypto.WriteKeys) (erasure.Secrets, error) {
	s, err := w.NewStripeSecrets()
	if err != nil {
		return erasure.Secrets{}, err
	}
	return erasure.Secrets{Nonce: s.Nonce, DeleteKey: s.DeleteKey, ReadKey: s.ReadKey}, nil
}

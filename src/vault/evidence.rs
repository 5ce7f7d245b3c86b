//! Evidence sealing: intruder photos are sealed to the vault's X25519 public key, so
//! the kiosk can write evidence with no administrator present and cannot read it back.
//!
//! Owns the public-key scheme (ephemeral X25519, HKDF-SHA256, AES-256-GCM). Must not
//! hold the secret key longer than an admin session: the store keeps it sealed under
//! the data key.

use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::{VaultError, open_with, random_bytes, seal_with};

const HKDF_INFO: &[u8] = b"doorguard/v1/evidence";

/// The vault's public key: anyone may seal to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidencePublicKey(pub [u8; 32]);

/// The vault's secret key: opens evidence; lives only in an admin session.
pub struct EvidenceSecretKey(StaticSecret);

impl std::fmt::Debug for EvidenceSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EvidenceSecretKey(***)")
    }
}

impl EvidenceSecretKey {
    /// A fresh key pair (once per kiosk, at set-up).
    pub fn generate() -> Result<EvidenceSecretKey, VaultError> {
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(random_bytes()?);
        Ok(EvidenceSecretKey(StaticSecret::from(*bytes)))
    }

    /// Rebuilds the key from its 32 bytes (after the store unsealed them).
    pub fn from_bytes(bytes: &[u8]) -> Result<EvidenceSecretKey, VaultError> {
        let bytes: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.try_into().map_err(|_| VaultError::Format)?);
        Ok(EvidenceSecretKey(StaticSecret::from(*bytes)))
    }

    /// The secret's bytes, to be sealed under the data key.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> EvidencePublicKey {
        EvidencePublicKey(PublicKey::from(&self.0).to_bytes())
    }
}

fn derive_key(
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared)
        .expand(HKDF_INFO, key.as_mut())
        .map_err(|_| VaultError::Format)?;
    Ok(key)
}

/// Seals `plaintext` (a JPEG) to `recipient`, bound to `aad`.
pub fn seal_evidence(
    recipient: &EvidencePublicKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let ephemeral = StaticSecret::from(*Zeroizing::new(random_bytes::<32>()?));
    let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&PublicKey::from(recipient.0));
    if !shared.was_contributory() {
        return Err(VaultError::Format);
    }
    let key = derive_key(shared.as_bytes(), &ephemeral_public, &recipient.0)?;
    let sealed = seal_with(&key, aad, plaintext)?;
    let mut out = Vec::with_capacity(32 + sealed.len());
    out.extend_from_slice(&ephemeral_public);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens evidence sealed by [`seal_evidence`].
pub fn open_evidence(
    secret: &EvidenceSecretKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let (ephemeral, rest) = sealed.split_at_checked(32).ok_or(VaultError::Format)?;
    let ephemeral: [u8; 32] = ephemeral.try_into().map_err(|_| VaultError::Format)?;
    let shared = secret.0.diffie_hellman(&PublicKey::from(ephemeral));
    let key = derive_key(shared.as_bytes(), &ephemeral, &secret.public_key().0)?;
    open_with(&key, aad, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_opens_with_the_secret_key_only() {
        let vault = EvidenceSecretKey::generate().unwrap();
        let public = vault.public_key();
        let sealed = seal_evidence(&public, b"evidence/1", b"\xFF\xD8 jpeg bytes").unwrap();
        assert_eq!(
            open_evidence(&vault, b"evidence/1", &sealed)
                .unwrap()
                .as_slice(),
            b"\xFF\xD8 jpeg bytes"
        );
        assert!(matches!(
            open_evidence(&vault, b"evidence/2", &sealed),
            Err(VaultError::Integrity)
        ));
        let stranger = EvidenceSecretKey::generate().unwrap();
        assert!(open_evidence(&stranger, b"evidence/1", &sealed).is_err());
        let again = EvidenceSecretKey::from_bytes(vault.to_bytes().as_ref()).unwrap();
        assert_eq!(again.public_key(), public);
    }

    #[test]
    fn two_seals_of_the_same_photo_differ() {
        let public = EvidenceSecretKey::generate().unwrap().public_key();
        let a = seal_evidence(&public, b"a", b"same").unwrap();
        let b = seal_evidence(&public, b"a", b"same").unwrap();
        assert_ne!(a, b);
    }
}

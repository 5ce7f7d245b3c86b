//! The cryptography of personal data, PINs and evidence (SPEC §4).
//!
//! Owns: the random 256-bit data key, AES-256-GCM sealing of single values bound to
//! their row and column, wrapping the data key under Argon2id keys (one per
//! administrator passphrase, one for the recovery code), sealing evidence to the
//! vault's X25519 public key, PIN hashing, and the credential types with their rules.
//!
//! Must not: touch the database, the clock or a log. Secrets live in zeroizing
//! buffers and never appear in `Debug` output or error messages.
//!
//! Formats (all versioned by their first byte):
//! - sealed value: `01 ‖ nonce(12) ‖ AES-256-GCM(ciphertext ‖ tag)`;
//! - evidence: `ephemeral X25519 public key(32) ‖ sealed value`, its key
//!   = HKDF-SHA256(ikm = shared secret, salt = ephemeral ‖ recipient public key).

mod credentials;
mod evidence;
mod kdf;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

pub use credentials::{CredentialError, Passphrase, Pin, PinHash, PinHasher, RecoveryCode};
pub use evidence::{EvidencePublicKey, EvidenceSecretKey, open_evidence, seal_evidence};
pub use kdf::KdfParams;

/// Length of every salt the vault makes.
pub const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const FORMAT_V1: u8 = 1;

/// Errors of the vault. None of them carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Argon2 refused the parameters.
    #[error("invalid Argon2id parameters: {0}")]
    KdfParams(String),
    /// The operating system's random source failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// Authentication failed: wrong key, a changed byte, or a value moved from
    /// another row or column. The store adds which row.
    #[error("integrity check failed (wrong key, tampered data or a value moved from another row)")]
    Integrity,
    /// The value is not in a format this version knows.
    #[error("unknown sealed-value format")]
    Format,
    /// A wrapped data key did not open: the passphrase or recovery code is wrong.
    #[error("wrong passphrase or recovery code")]
    WrongSecret,
}

/// Fills a fresh array with random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(out)
}

/// Associated data binding a sealed value to its table, row and column, so a
/// ciphertext copied elsewhere no longer opens.
pub fn column_aad(table: &str, row: i64, column: &str) -> Vec<u8> {
    format!("doorguard/v1/{table}/{row}/{column}").into_bytes()
}

/// The vault's 256-bit data key. Zeroized on drop; never printed.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(***)")
    }
}

impl DataKey {
    /// A new random data key (once per kiosk, at set-up).
    pub fn generate() -> Result<Self, VaultError> {
        Ok(DataKey(Zeroizing::new(random_bytes()?)))
    }

    /// Seals `plaintext` bound to `aad` (see [`column_aad`]).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        seal_with(&self.0, aad, plaintext)
    }

    /// Opens a value sealed by [`DataKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open_with(&self.0, aad, sealed)
    }

    /// Wraps this key under a key derived from `secret` (a passphrase or the recovery
    /// code) with a fresh salt.
    pub fn wrap(
        &self,
        secret: &[u8],
        params: KdfParams,
        label: &str,
    ) -> Result<WrappedKey, VaultError> {
        let salt: [u8; SALT_LEN] = random_bytes()?;
        let kek = params.derive(secret, &salt)?;
        let sealed = seal_with(&kek, wrap_aad(label).as_bytes(), self.0.as_ref())?;
        Ok(WrappedKey {
            salt,
            params,
            sealed,
        })
    }
}

/// The data key sealed under a key derived from a passphrase or the recovery code,
/// with what is needed to derive that key again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Per-wrap random salt.
    pub salt: [u8; SALT_LEN],
    /// Argon2id parameters used for this wrap.
    pub params: KdfParams,
    /// The sealed data key.
    pub sealed: Vec<u8>,
}

impl WrappedKey {
    /// Derives the wrapping key from `secret` and opens the data key.
    pub fn unwrap(&self, secret: &[u8], label: &str) -> Result<DataKey, VaultError> {
        let kek = self.params.derive(secret, &self.salt)?;
        let plain =
            open_with(&kek, wrap_aad(label).as_bytes(), &self.sealed).map_err(|e| match e {
                VaultError::Integrity => VaultError::WrongSecret,
                other => other,
            })?;
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Format)?;
        Ok(DataKey(Zeroizing::new(key)))
    }
}

fn wrap_aad(label: &str) -> String {
    format!("doorguard/v1/wrap/{label}")
}

fn seal_with(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    let cipher = Aes256Gcm::new(key.into());
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let ciphertext = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| VaultError::Format)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn open_with(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let (&version, rest) = sealed.split_first().ok_or(VaultError::Format)?;
    if version != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
        return Err(VaultError::Format);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Format)?;
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Integrity)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn sealed_value_opens_only_with_its_row_and_column() {
        let key = DataKey::generate().unwrap();
        let sealed = key
            .seal(&column_aad("people", 7, "name"), b"Zelda Quux")
            .unwrap();
        assert_eq!(
            key.open(&column_aad("people", 7, "name"), &sealed)
                .unwrap()
                .as_slice(),
            b"Zelda Quux"
        );
        assert!(matches!(
            key.open(&column_aad("people", 8, "name"), &sealed),
            Err(VaultError::Integrity)
        ));
        assert!(matches!(
            key.open(&column_aad("people", 7, "email"), &sealed),
            Err(VaultError::Integrity)
        ));
        let other = DataKey::generate().unwrap();
        assert!(matches!(
            other.open(&column_aad("people", 7, "name"), &sealed),
            Err(VaultError::Integrity)
        ));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let key = DataKey::generate().unwrap();
        let aad = column_aad("people", 1, "email");
        let sealed = key.seal(&aad, b"zelda@example.org").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                key.open(&aad, &bad).is_err(),
                "flip at byte {i} went unnoticed"
            );
        }
        assert!(matches!(
            key.open(&aad, &sealed[..10]),
            Err(VaultError::Format)
        ));
    }

    #[test]
    fn wrapped_key_needs_the_right_secret() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"x", b"payload").unwrap();
        let wrapped = key.wrap(b"correct horse", CHEAP, "admin").unwrap();
        let back = wrapped.unwrap(b"correct horse", "admin").unwrap();
        assert_eq!(back.open(b"x", &sealed).unwrap().as_slice(), b"payload");
        assert!(matches!(
            wrapped.unwrap(b"wrong horse", "admin"),
            Err(VaultError::WrongSecret)
        ));
        assert!(matches!(
            wrapped.unwrap(b"correct horse", "recovery"),
            Err(VaultError::WrongSecret)
        ));
    }

    #[test]
    fn debug_output_hides_the_key() {
        let key = DataKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "DataKey(***)");
    }
}

//! Argon2id key derivation: passphrases, the recovery code and PINs.
//!
//! Owns the parameters and the derivation; it never stores anything and never logs.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::VaultError;

/// Argon2id cost parameters. They are stored beside every hash and wrapped key they
/// produced, so a kiosk can raise them later without losing old records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl KdfParams {
    /// OWASP's minimum for Argon2id (m = 19 MiB, t = 2, p = 1). A deployed kiosk never
    /// runs below it: the configuration refuses weaker values.
    pub const OWASP_MINIMUM: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// True when every parameter is at least OWASP's minimum.
    pub fn meets_owasp_minimum(&self) -> bool {
        self.memory_kib >= Self::OWASP_MINIMUM.memory_kib
            && self.iterations >= Self::OWASP_MINIMUM.iterations
            && self.parallelism >= Self::OWASP_MINIMUM.parallelism
    }

    /// Derives a 256-bit key from `secret` and `salt`.
    pub fn derive(&self, secret: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| VaultError::KdfParams(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(secret, salt, out.as_mut())
            .map_err(|e| VaultError::KdfParams(e.to_string()))?;
        Ok(out)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::OWASP_MINIMUM
    }
}

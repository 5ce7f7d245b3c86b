//! Credentials and their rules: PINs (6–8 digits), administrator passphrases (8–64
//! characters) and the 24-character recovery code; PIN hashing for lookup.
//!
//! Owns the validation of what a person types and the device-wide PIN hash. Must not
//! keep a credential anywhere but in a zeroizing buffer, nor print one: `Debug` shows
//! `***`, and error messages describe the rule broken, never the value.

use std::fmt;

use zeroize::Zeroizing;

use super::{KdfParams, SALT_LEN, VaultError, random_bytes};

/// Why a typed credential was refused. The value itself is never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// PIN of the wrong length or with other characters than digits.
    #[error("a PIN has 6 to 8 digits and nothing else")]
    PinFormat,
    /// Passphrase too short or too long.
    #[error("a passphrase has 8 to 64 characters (this one has {0})")]
    PassphraseLength(usize),
    /// Recovery code of the wrong length or with characters outside its alphabet.
    #[error(
        "a recovery code has 24 characters from 0-9 and A-Z without I, L, O, U (dashes and spaces are ignored)"
    )]
    RecoveryCodeFormat,
}

macro_rules! secret_debug {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($t), "(***)"))
            }
        }
    };
}

/// A PIN: 6 to 8 ASCII digits.
pub struct Pin(Zeroizing<String>);
secret_debug!(Pin);

impl Pin {
    /// Checks the PIN rules.
    pub fn parse(text: &str) -> Result<Pin, CredentialError> {
        let ok = (6..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Pin(Zeroizing::new(text.to_owned())))
        } else {
            Err(CredentialError::PinFormat)
        }
    }

    /// The digits, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An administrator passphrase: 8 to 64 characters.
pub struct Passphrase(Zeroizing<String>);
secret_debug!(Passphrase);

impl Passphrase {
    /// Checks the length rule (counted in characters, not bytes).
    pub fn parse(text: &str) -> Result<Passphrase, CredentialError> {
        let n = text.chars().count();
        if (8..=64).contains(&n) {
            Ok(Passphrase(Zeroizing::new(text.to_owned())))
        } else {
            Err(CredentialError::PassphraseLength(n))
        }
    }

    /// The passphrase bytes, for key derivation.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The recovery code: 24 characters of Crockford's base32 (120 bits), shown once at
/// set-up as six groups of four.
pub struct RecoveryCode(Zeroizing<String>);
secret_debug!(RecoveryCode);

impl RecoveryCode {
    /// A fresh random code.
    pub fn generate() -> Result<RecoveryCode, VaultError> {
        let bytes: Zeroizing<[u8; 24]> = Zeroizing::new(random_bytes()?);
        let code = bytes
            .iter()
            .map(|b| CROCKFORD[usize::from(b & 31)] as char)
            .collect();
        Ok(RecoveryCode(Zeroizing::new(code)))
    }

    /// Reads a typed code: case, dashes and spaces don't matter, and the look-alikes
    /// O, I and L are read as 0, 1 and 1.
    pub fn parse(text: &str) -> Result<RecoveryCode, CredentialError> {
        let mut code = Zeroizing::new(String::with_capacity(24));
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
                return Err(CredentialError::RecoveryCodeFormat);
            }
            code.push(c);
        }
        if code.len() == 24 {
            Ok(RecoveryCode(code))
        } else {
            Err(CredentialError::RecoveryCodeFormat)
        }
    }

    /// The canonical code (24 characters), for key derivation.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The code as it is shown to the administrator: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
    pub fn display_grouped(&self) -> Zeroizing<String> {
        let groups: Vec<&str> = self
            .0
            .as_bytes()
            .chunks(4)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect();
        Zeroizing::new(groups.join("-"))
    }
}

/// The Argon2id hash of a PIN under the device-wide salt: the lookup key of the
/// `pins` table. Not secret on its own, but not printed either.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinHash(pub [u8; 32]);

impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinHash(…)")
    }
}

/// Hashes PINs with the device-wide salt and parameters, so one hash finds a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinHasher {
    /// Device-wide salt, made at set-up.
    pub salt: [u8; SALT_LEN],
    /// Parameters, made at set-up and kept with the salt.
    pub params: KdfParams,
}

impl PinHasher {
    /// A hasher with a fresh salt.
    pub fn generate(params: KdfParams) -> Result<PinHasher, VaultError> {
        Ok(PinHasher {
            salt: random_bytes()?,
            params,
        })
    }

    /// One Argon2id hash: the cost of one attempt at the keypad.
    pub fn hash(&self, pin: &Pin) -> Result<PinHash, VaultError> {
        let out = self.params.derive(pin.expose().as_bytes(), &self.salt)?;
        Ok(PinHash(*out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_rules() {
        assert!(Pin::parse("123456").is_ok());
        assert!(Pin::parse("12345678").is_ok());
        for bad in ["12345", "123456789", "12345a", "", "١٢٣٤٥٦"] {
            assert_eq!(
                Pin::parse(bad).err(),
                Some(CredentialError::PinFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn passphrase_length_counts_characters() {
        assert!(Passphrase::parse("ÄÖÜäöüßé").is_ok());
        assert_eq!(
            Passphrase::parse("short").err(),
            Some(CredentialError::PassphraseLength(5))
        );
        assert!(Passphrase::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn recovery_code_round_trips_through_its_display_form() {
        let code = RecoveryCode::generate().unwrap();
        let shown = code.display_grouped();
        assert_eq!(shown.len(), 29);
        let typed = RecoveryCode::parse(&shown.to_lowercase()).unwrap();
        assert_eq!(typed.expose(), code.expose());
        assert_eq!(
            RecoveryCode::parse("ABCD EFGH JKMN PQRS TVWX YZ01")
                .unwrap()
                .expose(),
            b"ABCDEFGHJKMNPQRSTVWXYZ01"
        );
        assert_eq!(
            RecoveryCode::parse("oooo-iiii-llll-0000-1111-2222")
                .unwrap()
                .expose(),
            b"000011111111000011112222"
        );
        assert!(RecoveryCode::parse("UUUU-UUUU-UUUU-UUUU-UUUU-UUUU").is_err());
        assert!(RecoveryCode::parse("ABCD").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let pin = Pin::parse("424242").unwrap();
        let pass = Passphrase::parse("hunter2hunter2").unwrap();
        assert_eq!(format!("{pin:?} {pass:?}"), "Pin(***) Passphrase(***)");
    }

    #[test]
    fn same_pin_same_hash_other_salt_other_hash() {
        let cheap = KdfParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let a = PinHasher::generate(cheap).unwrap();
        let b = PinHasher::generate(cheap).unwrap();
        let pin = Pin::parse("135790").unwrap();
        assert_eq!(a.hash(&pin).unwrap(), a.hash(&pin).unwrap());
        assert_ne!(a.hash(&pin).unwrap(), b.hash(&pin).unwrap());
        assert_ne!(
            a.hash(&pin).unwrap(),
            a.hash(&Pin::parse("135791").unwrap()).unwrap()
        );
    }
}

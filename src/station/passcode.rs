//! The operator passcode (app-only mode): argon2id hashes, their minimum strength, and where
//! `set-passcode` keeps them.
//!
//! Verifying is pure computation but slow on purpose (64 MiB, 3 passes): the engine runs it on
//! a worker thread, never on the UI thread or the engine loop.

use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Config key holding the passcode hash (or the file [`PASSCODE_FILE`] next to the config).
pub const PASSCODE_KEY: &str = "operatorPasscodeHash";
/// File next to `configs.json` written by `passkey-kiosk set-passcode`.
pub const PASSCODE_FILE: &str = "operator-passcode.phc";

/// argon2id memory cost of new hashes, and the least a configured hash may use (KiB).
pub const MIN_MEMORY_KIB: u32 = 65_536;
/// argon2id passes of new hashes, and the least a configured hash may use.
pub const MIN_ITERATIONS: u32 = 3;
/// argon2id lanes.
pub const MIN_PARALLELISM: u32 = 1;

/// What to do about a hash that is refused.
pub const REMEDY: &str = "run `passkey-kiosk set-passcode` to write a new argon2id hash";

/// The passcode file `set-passcode` writes next to the config.
pub fn passcode_file(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(PASSCODE_FILE)
}

fn hasher() -> Result<Argon2<'static>, String> {
    let params = Params::new(MIN_MEMORY_KIB, MIN_ITERATIONS, MIN_PARALLELISM, None)
        .map_err(|e| format!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a passcode with argon2id (64 MiB, 3 passes, 1 lane) and a fresh random salt.
pub fn hash_passcode(passcode: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()?
        .hash_password(passcode.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the passcode: {e}"))
}

/// Whether `passcode` matches the stored PHC string (the parameters are read from the hash; a
/// malformed hash never matches).
pub fn verify_passcode(hash: &str, passcode: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(passcode.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks a configured hash: an argon2id PHC string at least as strong as new hashes. The
/// error says what is wrong (never the hash itself) and the remedy.
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash)
        .map_err(|_| format!("the operator passcode hash is not an argon2 PHC string: {REMEDY}"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "the operator passcode hash uses {}, not argon2id: {REMEDY}",
            parsed.algorithm.as_str()
        ));
    }
    let params = Params::try_from(&parsed).map_err(|e| {
        format!("the operator passcode hash has unreadable parameters ({e}): {REMEDY}")
    })?;
    if params.m_cost() < MIN_MEMORY_KIB
        || params.t_cost() < MIN_ITERATIONS
        || params.p_cost() < MIN_PARALLELISM
    {
        return Err(format!(
            "the operator passcode hash is too weak (m={} KiB, t={}, p={}; at least m={MIN_MEMORY_KIB}, \
             t={MIN_ITERATIONS}, p={MIN_PARALLELISM} are needed): {REMEDY}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weak(algorithm: Algorithm, m: u32, t: u32) -> String {
        let params = Params::new(m, t, 1, None).unwrap();
        let salt = SaltString::encode_b64(b"kiosk-test-salt!").unwrap();
        Argon2::new(algorithm, Version::V0x13, params)
            .hash_password(b"4711 open", &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn new_hashes_are_argon2id_64_mib_3_passes_and_verify() {
        let hash = hash_passcode("4711 open").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
            "{hash}"
        );
        assert_eq!(check_hash(&hash), Ok(()));
        assert!(verify_passcode(&hash, "4711 open"));
        assert!(!verify_passcode(&hash, "4711 opem"));
        assert!(!verify_passcode("not a hash", "4711 open"));
    }

    #[test]
    fn weaker_or_other_hashes_are_refused_with_the_remedy() {
        for (hash, why) in [
            (weak(Algorithm::Argon2id, 19_456, 2), "too weak"),
            (weak(Algorithm::Argon2id, 65_536, 2), "too weak"),
            (weak(Algorithm::Argon2id, 32_768, 3), "too weak"),
            (weak(Algorithm::Argon2i, 65_536, 3), "argon2i, not argon2id"),
            (weak(Algorithm::Argon2d, 65_536, 3), "argon2d, not argon2id"),
            ("hunter2".to_owned(), "not an argon2 PHC string"),
        ] {
            let err = check_hash(&hash).unwrap_err();
            assert!(err.contains(why), "{err}");
            assert!(err.contains("passkey-kiosk set-passcode"), "{err}");
            assert!(!err.contains(&hash), "the hash is never shown: {err}");
        }
    }
}

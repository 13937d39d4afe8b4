//! The development signing secret: `JWT_SECRET` when set, else one generated once into the data
//! directory, so tokens minted by `switchboard-local token` keep working across restarts.

use std::fs;
use std::io::Write;
use std::path::Path;

use rand::RngCore;
use switchboard_shared::config::MIN_SECRET_BYTES;

/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "jwt-secret";

/// The secret to sign and verify development tokens with.
pub fn load_or_create(data_dir: &Path) -> std::io::Result<String> {
    if let Ok(secret) = std::env::var("JWT_SECRET") {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(std::io::Error::other(format!(
                "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        return Ok(secret);
    }
    let path = data_dir.join(SECRET_FILE);
    match fs::read_to_string(&path) {
        Ok(secret) if secret.trim().len() >= MIN_SECRET_BYTES => return Ok(secret.trim().to_owned()),
        Ok(_) => return Err(std::io::Error::other(format!("{} is too short; delete it", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir_all(data_dir)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(fs::read_to_string(&path)?.trim().to_owned())
        }
        Err(e) => Err(e),
    }
}

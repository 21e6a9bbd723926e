//! `rapport keys …`: the key file parts of encryption at rest (see `rapport_store::crypto`).
//!
//! `init` creates a keyring file readable only by its owner; `add` appends a new active data
//! key (the first step of rotation); `list` shows key ids, never secrets. Re-encrypting the
//! stored values needs the database and lives with `rapport keys rotate`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rapport_store::crypto::{KEY_FILE_ENV, Keyring};

/// Key file management.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum KeysCommand {
    /// Create a key file (mode 0600); refuses to overwrite one.
    ///
    /// The file holds a blind-index key and a first data key. Back it up apart from the
    /// database: without it, encrypted fields are lost. To pass keys through the environment
    /// instead, put the file's text in RAPPORT_KEYS.
    Init {
        /// Where to write the keyring.
        #[arg(long, env = KEY_FILE_ENV, default_value = "rapport.key")]
        file: PathBuf,
        /// Replace an existing key file; the old one is kept beside it as `<file>.old-<time>`.
        #[arg(long)]
        force: bool,
    },
    /// Add a new data key to the key file and make it active.
    ///
    /// New values are encrypted under it; values under older keys still read. `rapport keys
    /// rotate` does this and also re-encrypts the stored values.
    Add {
        /// The keyring to change.
        #[arg(long, env = KEY_FILE_ENV, default_value = "rapport.key")]
        file: PathBuf,
    },
    /// Add a new active data key and re-encrypt every stored sensitive value under it, while
    /// servers keep running (they pick the new key up from the file within seconds). Also
    /// encrypts values written before encryption was switched on. Besides people, companies
    /// and the audit log, this covers webhook signing secrets and the outbox's event payloads
    /// (queued deliveries are sent from them), mail passwords and rejected import rows.
    Rotate {
        /// The keyring to change.
        #[arg(long, env = KEY_FILE_ENV, default_value = "rapport.key")]
        file: PathBuf,
        /// Re-encrypt under the current active key without adding a new one.
        #[arg(long)]
        no_new_key: bool,
    },
    /// List the data key ids (the last is active); never prints a key.
    List {
        /// The keyring to read.
        #[arg(long, env = KEY_FILE_ENV, default_value = "rapport.key")]
        file: PathBuf,
    },
}

/// Runs a file-only `keys` subcommand.
pub fn run(cmd: &KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Init { file, force } => {
            let moved = init(file, *force)?;
            if let Some(old) = moved {
                println!("Moved the previous key file to {}.", old.display());
            }
            let full = std::fs::canonicalize(file).unwrap_or_else(|_| file.clone());
            println!(
                "Created {} (mode 0600). Back it up apart from the database, then set {KEY_FILE_ENV}={}.",
                file.display(),
                full.display()
            );
            Ok(())
        }
        KeysCommand::Add { file } => {
            let keys = add_key(file)?;
            println!(
                "Added data key {} to {}; it is now active. Run `rapport keys rotate` to re-encrypt stored values.",
                keys.active_key_id(),
                file.display()
            );
            Ok(())
        }
        KeysCommand::Rotate { .. } => anyhow::bail!("`keys rotate` needs the database; it is run by main"),
        KeysCommand::List { file } => {
            let keys = Keyring::load(file)?;
            let ids = keys.key_ids();
            for id in &ids {
                let active = if *id == keys.active_key_id() { "  (active)" } else { "" };
                println!("{id}{active}");
            }
            Ok(())
        }
    }
}

/// Creates a new key file. With `force`, an existing file is renamed to `<file>.old-<unix
/// seconds>` first (returned), never deleted: it may be the only way to read the database.
pub fn init(file: &Path, force: bool) -> anyhow::Result<Option<PathBuf>> {
    let mut moved = None;
    if file.exists() {
        if !force {
            bail!(
                "{} already exists; it may hold the only keys that can read your data. \
                 Use `rapport keys add` to rotate, or --force to set it aside and start over",
                file.display()
            );
        }
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut name = file.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".old-{secs}"));
        let old = file.with_file_name(name);
        std::fs::rename(file, &old).with_context(|| format!("cannot move {} aside", file.display()))?;
        moved = Some(old);
    }
    Keyring::generate().create_file(file)?;
    Ok(moved)
}

/// Rotation step 1: loads the key file, adds a new active data key, saves the file atomically
/// and returns the new keyring (for the re-encryption pass of `rapport keys rotate`).
pub fn add_key(file: &Path) -> anyhow::Result<Keyring> {
    let mut keys = Keyring::load(file)?;
    keys.add_data_key();
    keys.save(file)?;
    Ok(keys)
}

/// `rapport keys rotate`: a new active key in the file, then every value re-sealed under it.
pub async fn rotate(database: &str, file: &Path, new_key: bool) -> anyhow::Result<()> {
    let keys = if new_key { add_key(file)? } else { Keyring::load(file)? };
    let store = rapport_store::Store::connect(database)
        .await
        .map_err(anyhow::Error::msg)?
        .with_keys(Some(rapport_store::crypto::SharedKeyring::fixed(keys.clone())));
    store.migrate().await.map_err(anyhow::Error::msg)?;
    let done = store.reseal_all().await?;
    println!(
        "Active key {}: re-encrypted {} people, {} companies, {} audit entries, {} webhook secrets, {} webhook events, \
         {} mail passwords and {} rejected import rows.",
        keys.active_key_id(),
        done.customers,
        done.companies,
        done.audit_entries,
        done.webhook_secrets,
        done.webhook_events,
        done.mail_passwords,
        done.import_rejects
    );
    Ok(())
}

/// The keyring servers and commands use: `RAPPORT_KEYS` or `RAPPORT_KEY_FILE`, else
/// `./rapport.key` when it exists; a key file is re-read when it changes (rotation).
pub fn configured() -> anyhow::Result<Option<rapport_store::crypto::SharedKeyring>> {
    use rapport_store::crypto::SharedKeyring;
    let every = std::time::Duration::from_secs(5);
    if let Some(k) = SharedKeyring::from_env(every)? {
        return Ok(Some(k));
    }
    let default = Path::new(DEFAULT_FILE);
    Ok(if default.exists() { Some(SharedKeyring::from_file(default, every)?) } else { None })
}

/// The key file `demo` creates and every command finds in the working directory.
pub const DEFAULT_FILE: &str = "rapport.key";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_refuses_to_overwrite_and_force_keeps_the_old_file() {
        let dir = std::env::temp_dir().join(format!("rapport-keys-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rapport.key");
        run(&KeysCommand::Init { file: file.clone(), force: false }).unwrap();
        let first = std::fs::read_to_string(&file).unwrap();
        let err = run(&KeysCommand::Init { file: file.clone(), force: false }).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), first);

        let old_value = Keyring::load(&file).unwrap().encrypt("alice@example.com");
        run(&KeysCommand::Add { file: file.clone() }).unwrap();
        let rotated = Keyring::load(&file).unwrap();
        assert_eq!(rotated.key_ids(), ["k1", "k2"]);
        assert_eq!(rotated.decrypt(&old_value).unwrap(), "alice@example.com");
        run(&KeysCommand::List { file: file.clone() }).unwrap();

        let moved = init(&file, true).unwrap().expect("the old file was moved");
        assert_eq!(Keyring::load(&moved).unwrap().key_ids(), ["k1", "k2"]);
        assert_eq!(Keyring::load(&file).unwrap().key_ids(), ["k1"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

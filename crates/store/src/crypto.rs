//! Encryption at rest for sensitive fields (email, phone, …): the primitives and the keys.
//!
//! # Design
//!
//! A [`Keyring`] holds two kinds of 32-byte secret keys:
//!
//! * **Data keys**, each with a short id (`k1`, `k2`, …). Values are sealed with AES-256-GCM
//!   under the *active* data key, which is the newest one (the last `data` line of the key
//!   file). Older data keys stay in the keyring so that values sealed under them still open;
//!   that is what makes rotation possible without downtime.
//! * **One index key**, never rotated, used only for HMAC-SHA256. Two sub-keys are derived from
//!   it (one per purpose, so their outputs can never be confused): one for the
//!   [`blind index`](Keyring::blind_index) that replaces a plaintext email in equality lookups
//!   and unique indexes, one for the [`search tokens`](Keyring::search_token) that let
//!   full-text search find whole email addresses and phone numbers. Rotating it would mean
//!   recomputing every hash at once, so it is deliberately kept out of rotation.
//!
//! ## Stored value format
//!
//! [`Keyring::encrypt`] returns text that describes itself:
//!
//! ```text
//! enc1:<key id>:<base64url, no padding, of nonce (12 bytes) || ciphertext || tag (16 bytes)>
//! ```
//!
//! The nonce is 96 random bits from the operating system for every value, so encrypting the
//! same plaintext twice gives different results (equal plaintexts are not visible in the
//! database). The string `enc1:<key id>` is bound as associated data: relabelling a value with
//! another key id makes it fail to open instead of being misread. Because the key id is in
//! clear, SQL can count what is still under an old key (`… LIKE 'enc1:k1:%'`) before that key
//! is retired.
//!
//! [`Keyring::decrypt`] opens values under any key of the keyring, and returns a value that
//! does not start with `enc1:` unchanged: a database can be encrypted gradually, and plaintext
//! written before encryption was switched on keeps reading. A value that starts with `enc1:`
//! but does not open is always an error, never returned as text.
//!
//! What this does **not** hide: the length of a value (roughly), which rows share a blind index
//! or a search token (equal emails, equal search words), and which key sealed a value. It does
//! not bind a value to its row either: someone who can write the database could swap two
//! customers' sealed emails; that attacker could also just edit the rows.
//!
//! ## Key file
//!
//! A UTF-8 text file, one entry per line; blank lines and lines starting with `#` are ignored;
//! keys are standard base64 (with padding) of exactly 32 bytes:
//!
//! ```text
//! # Rapport keyring
//! index <base64>
//! data k1 <base64>
//! data k2 <base64>
//! ```
//!
//! Exactly one `index` line and at least one `data` line; data key ids are 1–32 characters of
//! `A–Z a–z 0–9 _ -` and unique. The path comes from `RAPPORT_KEY_FILE`; alternatively
//! `RAPPORT_KEYS` holds the same text (convenient for containers; rotation then means
//! restarting with the new text). Files are created with mode 0600, and loading a file that
//! group or others can read logs a warning. Losing the key file loses every encrypted value:
//! back it up apart from the database.
//!
//! ## Rotation
//!
//! 1. [`Keyring::add_data_key`] appends a new active key; [`Keyring::save`] replaces the file
//!    atomically (`rapport keys add`).
//! 2. Running servers pick the new key up through [`SharedKeyring`], which re-reads the file
//!    when it changes and when it meets an unknown key id, so no restart is needed.
//! 3. A re-encryption pass opens every value for which [`Keyring::is_current`] is false and
//!    seals it again under the active key, repeating until none is left (a server that has not
//!    reloaded yet may still write under the old key for a few seconds).
//! 4. Only then may the old key be dropped ([`Keyring::remove_data_key`]), after checking that
//!    no value mentions it.
//!
//! ## Without a key
//!
//! Callers hold an `Option<Keyring>`. With none configured, values are stored in plaintext
//! (demo and development); [`seal`] and [`open`] spell out that rule.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Environment variable naming the key file.
pub const KEY_FILE_ENV: &str = "RAPPORT_KEY_FILE";
/// Environment variable holding the key file's text itself.
pub const KEYS_ENV: &str = "RAPPORT_KEYS";
/// Prefix of every encrypted value.
pub const PREFIX: &str = "enc1:";

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAX_ID_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// What went wrong loading keys or opening a value.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A line of a key file (or of `RAPPORT_KEYS`) is wrong.
    #[error("{source_name}: line {line}: {message}")]
    Parse {
        /// The file path, or the environment variable name.
        source_name: String,
        /// 1-based line number (0 when the problem is the whole text, e.g. no `index` line).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a key file failed.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Both `RAPPORT_KEY_FILE` and `RAPPORT_KEYS` are set.
    #[error("set only one of {KEY_FILE_ENV} and {KEYS_ENV}")]
    Ambiguous,
    /// The value is sealed under a key id that the keyring lacks.
    #[error(
        "the value is encrypted under data key `{id}`, which is not in the keyring \
         (put the `data {id} …` line back into the key file)"
    )]
    UnknownKey {
        /// The missing key id.
        id: String,
    },
    /// The value starts with `enc1:` but is not shaped like a sealed value.
    #[error("malformed encrypted value: {0}")]
    Malformed(&'static str),
    /// Authentication failed: the value was altered, or the key with this id is not the one
    /// that sealed it.
    #[error("the value encrypted under data key `{id}` failed authentication (altered, or a different key with the same id)")]
    Tampered {
        /// The key id named by the value.
        id: String,
    },
    /// An encrypted value was read but no keyring is configured.
    #[error("the value is encrypted but no key is configured (set {KEY_FILE_ENV} or {KEYS_ENV})")]
    NoKeyring,
    /// A keyring operation was refused (e.g. removing the active key).
    #[error("{0}")]
    Refused(String),
}

#[derive(Clone)]
struct DataKey {
    id: String,
    secret: [u8; KEY_LEN],
    cipher: Aes256Gcm,
}

/// The data keys and the index key. Never printed: `Debug` shows key ids only.
#[derive(Clone)]
pub struct Keyring {
    index_secret: [u8; KEY_LEN],
    blind_mac: HmacSha256,
    search_mac: HmacSha256,
    /// Oldest first; the last one is active. Never empty.
    data: Vec<DataKey>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("data_key_ids", &self.key_ids()).field("active", &self.active_key_id()).finish_non_exhaustive()
    }
}

fn random_key() -> [u8; KEY_LEN] {
    aes_gcm::Key::<Aes256Gcm>::generate().into()
}

fn derive_mac(index_secret: &[u8; KEY_LEN], purpose: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(index_secret).expect("HMAC accepts any key length");
    m.update(purpose);
    let sub = m.finalize().into_bytes();
    HmacSha256::new_from_slice(&sub).expect("HMAC accepts any key length")
}

/// Lower-case hex (digests and blind indexes; on the path of every authenticated request).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl DataKey {
    fn new(id: String, secret: [u8; KEY_LEN]) -> Self {
        let cipher = Aes256Gcm::new_from_slice(&secret).expect("32-byte key");
        DataKey { id, secret, cipher }
    }
}

impl Keyring {
    /// A fresh keyring: a random index key and one random data key `k1`.
    pub fn generate() -> Keyring {
        Keyring::from_parts(random_key(), vec![DataKey::new("k1".into(), random_key())])
    }

    fn from_parts(index_secret: [u8; KEY_LEN], data: Vec<DataKey>) -> Keyring {
        assert!(!data.is_empty(), "a keyring has at least one data key");
        Keyring {
            blind_mac: derive_mac(&index_secret, b"rapport blind index v1"),
            search_mac: derive_mac(&index_secret, b"rapport search token v1"),
            index_secret,
            data,
        }
    }

    /// Parses key file text. `source_name` (a path, or `RAPPORT_KEYS`) prefixes error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Keyring, CryptoError> {
        let err = |line: usize, message: String| CryptoError::Parse { source_name: source_name.to_string(), line, message };
        let decode = |line: usize, b64: &str| -> Result<[u8; KEY_LEN], CryptoError> {
            let bytes = STANDARD.decode(b64).map_err(|e| err(line, format!("the key is not valid base64: {e}")))?;
            <[u8; KEY_LEN]>::try_from(bytes.as_slice())
                .map_err(|_| err(line, format!("a key must be {KEY_LEN} bytes, this one has {}", bytes.len())))
        };
        let mut index: Option<[u8; KEY_LEN]> = None;
        let mut data: Vec<DataKey> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["index", b64] => {
                    if index.is_some() {
                        return Err(err(line_no, "a second `index` line".into()));
                    }
                    index = Some(decode(line_no, b64)?);
                }
                ["data", id, b64] => {
                    if !valid_id(id) {
                        return Err(err(line_no, format!("key id `{id}` must be 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 _ -")));
                    }
                    if data.iter().any(|k| k.id == *id) {
                        return Err(err(line_no, format!("data key id `{id}` appears twice")));
                    }
                    data.push(DataKey::new(id.to_string(), decode(line_no, b64)?));
                }
                ["index", ..] => return Err(err(line_no, "expected `index <base64>`".into())),
                ["data", ..] => return Err(err(line_no, "expected `data <id> <base64>`".into())),
                [other, ..] => {
                    return Err(err(line_no, format!("unknown entry `{other}` (expected `index` or `data`)")));
                }
                [] => unreachable!("blank lines are skipped"),
            }
        }
        let index = index.ok_or_else(|| err(0, "no `index <base64>` line".into()))?;
        if data.is_empty() {
            return Err(err(0, "no `data <id> <base64>` line".into()));
        }
        Ok(Keyring::from_parts(index, data))
    }

    /// The key file text for this keyring (the format [`Keyring::parse`] reads).
    pub fn to_file_text(&self) -> String {
        let mut s = String::from(
            "# Rapport keyring: keep it secret and back it up apart from the database.\n\
             # Without it, encrypted fields cannot be read. The last `data` line is the active key.\n",
        );
        s.push_str(&format!("index {}\n", STANDARD.encode(self.index_secret)));
        for k in &self.data {
            s.push_str(&format!("data {} {}\n", k.id, STANDARD.encode(k.secret)));
        }
        s
    }

    /// Reads a key file. Warns (through `tracing`) when group or others may read it.
    pub fn load(path: &Path) -> Result<Keyring, CryptoError> {
        let io = |source| CryptoError::Io { path: path.to_path_buf(), source };
        let text = std::fs::read_to_string(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format_args!("{:o}", mode & 0o777),
                    "the key file is readable by group or others; run chmod 600 on it"
                );
            }
        }
        Keyring::parse(&text, &path.display().to_string())
    }

    /// The configured keyring: from the file named by `RAPPORT_KEY_FILE`, or from the text in
    /// `RAPPORT_KEYS`; `None` when neither is set (values then stay in plaintext).
    pub fn from_env() -> Result<Option<Keyring>, CryptoError> {
        let file = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty());
        let text = std::env::var(KEYS_ENV).ok().filter(|v| !v.trim().is_empty());
        match (file, text) {
            (Some(_), Some(_)) => Err(CryptoError::Ambiguous),
            (Some(path), None) => Keyring::load(Path::new(&path)).map(Some),
            (None, Some(text)) => Keyring::parse(&text, KEYS_ENV).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Writes a new key file with mode 0600; fails if the file exists.
    pub fn create_file(&self, path: &Path) -> Result<(), CryptoError> {
        let io = |source| CryptoError::Io { path: path.to_path_buf(), source };
        let mut f = private_options().create_new(true).open(path).map_err(io)?;
        f.write_all(self.to_file_text().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// Replaces a key file atomically (a 0600 temporary file beside it, then a rename), so a
    /// reader never sees half a file and a crash leaves either the old or the new keyring.
    pub fn save(&self, path: &Path) -> Result<(), CryptoError> {
        let io = |source| CryptoError::Io { path: path.to_path_buf(), source };
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let _ = std::fs::remove_file(&tmp);
        let result = (|| {
            let mut f = private_options().create_new(true).open(&tmp)?;
            f.write_all(self.to_file_text().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }

    /// Adds a fresh random data key and makes it active (rotation step 1). Returns its id:
    /// `k<n+1>` where `n` is the highest number among ids of the form `k<n>`.
    pub fn add_data_key(&mut self) -> String {
        let n = self.data.iter().filter_map(|k| k.id.strip_prefix('k')?.parse::<u64>().ok()).max().unwrap_or(0);
        let mut next = n + 1;
        while self.data.iter().any(|k| k.id == format!("k{next}")) {
            next += 1;
        }
        let id = format!("k{next}");
        self.data.push(DataKey::new(id.clone(), random_key()));
        id
    }

    /// Drops a retired data key (last rotation step). Only call it once no stored value uses
    /// it: those values could never be read again. The active key cannot be removed.
    pub fn remove_data_key(&mut self, id: &str) -> Result<(), CryptoError> {
        if self.active_key_id() == id {
            return Err(CryptoError::Refused(format!("`{id}` is the active data key; add a new key before retiring it")));
        }
        let before = self.data.len();
        self.data.retain(|k| k.id != id);
        if self.data.len() == before {
            return Err(CryptoError::UnknownKey { id: id.into() });
        }
        Ok(())
    }

    /// The id of the key new values are sealed under.
    pub fn active_key_id(&self) -> &str {
        &self.active().id
    }

    /// Every data key id, oldest first (the last is active).
    pub fn key_ids(&self) -> Vec<&str> {
        self.data.iter().map(|k| k.id.as_str()).collect()
    }

    fn active(&self) -> &DataKey {
        self.data.last().expect("a keyring has at least one data key")
    }

    /// Seals `plaintext` under the active key: `enc1:<key id>:<base64url(nonce‖ciphertext)>`,
    /// with a fresh random nonce each time.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let key = self.active();
        let aad = format!("{PREFIX}{}", key.id);
        let nonce = Nonce::<Aes256Gcm>::generate();
        let sealed = key
            .cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .expect("AES-GCM encryption only fails beyond 64 GiB");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{aad}:{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens a stored value sealed under any key of the keyring. A value that does not start
    /// with `enc1:` is legacy plaintext and is returned unchanged.
    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, body) = rest.split_once(':').ok_or(CryptoError::Malformed("no key id"))?;
        let key = self.data.iter().find(|k| k.id == id).ok_or_else(|| CryptoError::UnknownKey { id: id.into() })?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| CryptoError::Malformed("the body is not base64url"))?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed("too short"));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::<Aes256Gcm>::try_from(nonce).expect("12 bytes");
        let aad = format!("{PREFIX}{id}");
        let plain = key
            .cipher
            .decrypt(&nonce, Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Tampered { id: id.into() })?;
        String::from_utf8(plain).map_err(|_| CryptoError::Malformed("the plaintext is not UTF-8"))
    }

    /// Whether `stored` is already sealed under the active key. Plaintext and values under
    /// older keys answer `false`: the rotation pass re-encrypts exactly those.
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(PREFIX).and_then(|rest| rest.strip_prefix(self.active_key_id())).is_some_and(|rest| rest.starts_with(':'))
    }

    /// Keyed hash for equality lookups and uniqueness: HMAC-SHA256 under the index key, 64 hex
    /// characters. Deterministic, so the caller must normalize first (e.g. lower-case email).
    /// Stable across data key rotations.
    pub fn blind_index(&self, normalized: &str) -> String {
        let mut m = self.blind_mac.clone();
        m.update(normalized.as_bytes());
        hex(&m.finalize().into_bytes())
    }

    /// A short keyed token (`h` + 16 hex characters) standing for a whole search word such as
    /// an email address or a phone number, for full-text indexes that must not hold the word
    /// itself. Index the tokens of the words, and at query time look for the token of the
    /// typed term: this matches **whole words only** (no prefix or substring search), so OR it
    /// with ordinary prefix terms over the non-sensitive text. The caller normalizes the term
    /// the same way on both sides (e.g. lower case; digits only for phones). 64 bits: distinct
    /// words practically never share a token, and an extra match would only widen a search.
    pub fn search_token(&self, term: &str) -> String {
        let mut m = self.search_mac.clone();
        m.update(term.as_bytes());
        format!("h{}", hex(&m.finalize().into_bytes()[..8]))
    }
}

fn private_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Seals `plaintext` when a keyring is configured; stores it as is otherwise.
pub fn seal(keys: Option<&Keyring>, plaintext: &str) -> String {
    match keys {
        Some(k) => k.encrypt(plaintext),
        None => plaintext.to_string(),
    }
}

/// Opens a stored value. Plaintext passes through with or without a keyring; an encrypted
/// value without a keyring is [`CryptoError::NoKeyring`].
pub fn open(keys: Option<&Keyring>, stored: &str) -> Result<String, CryptoError> {
    match keys {
        Some(k) => k.decrypt(stored),
        None if stored.starts_with(PREFIX) => Err(CryptoError::NoKeyring),
        None => Ok(stored.to_string()),
    }
}

/// A keyring shared by a long-running server that follows its key file, so rotation needs no
/// restart: [`SharedKeyring::current`] re-reads the file when its modification time or size
/// changed (checked at most every `check_every`), and [`SharedKeyring::decrypt`] re-reads it
/// at once when a value names a key id it does not know (another process rotated). A file
/// that fails to load keeps the previous keyring (and logs the error).
pub struct SharedKeyring {
    path: Option<PathBuf>,
    check_every: Duration,
    keys: RwLock<Arc<Keyring>>,
    state: Mutex<FileState>,
}

struct FileState {
    checked: Instant,
    stamp: Option<(SystemTime, u64)>,
}

impl fmt::Debug for SharedKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKeyring").field("path", &self.path).field("keys", &*self.current()).finish()
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl SharedKeyring {
    /// Follows the key file at `path`, checking it for changes at most every `check_every`.
    pub fn from_file(path: &Path, check_every: Duration) -> Result<SharedKeyring, CryptoError> {
        let st = stamp(path);
        let keys = Keyring::load(path)?;
        Ok(SharedKeyring {
            path: Some(path.to_path_buf()),
            check_every,
            keys: RwLock::new(Arc::new(keys)),
            state: Mutex::new(FileState { checked: Instant::now(), stamp: st }),
        })
    }

    /// A fixed keyring (from `RAPPORT_KEYS`, or tests): never reloads.
    pub fn fixed(keys: Keyring) -> SharedKeyring {
        SharedKeyring {
            path: None,
            check_every: Duration::MAX,
            keys: RwLock::new(Arc::new(keys)),
            state: Mutex::new(FileState { checked: Instant::now(), stamp: None }),
        }
    }

    /// Like [`Keyring::from_env`], following the key file when one is named.
    pub fn from_env(check_every: Duration) -> Result<Option<SharedKeyring>, CryptoError> {
        let file = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty());
        match (file, Keyring::from_env()?) {
            (Some(path), Some(_)) => Self::from_file(Path::new(&path), check_every).map(Some),
            (_, keys) => Ok(keys.map(Self::fixed)),
        }
    }

    /// The keyring to use now, re-read first if the file changed.
    pub fn current(&self) -> Arc<Keyring> {
        self.refresh(false);
        self.keys.read().expect("keyring lock").clone()
    }

    /// Re-reads the key file if it changed (or unconditionally with `force`). Returns whether
    /// a new keyring was installed.
    pub fn refresh(&self, force: bool) -> bool {
        let Some(path) = &self.path else { return false };
        let mut state = self.state.lock().expect("keyring lock");
        if !force && state.checked.elapsed() < self.check_every {
            return false;
        }
        state.checked = Instant::now();
        let st = stamp(path);
        if !force && st == state.stamp {
            return false;
        }
        match Keyring::load(path) {
            Ok(keys) => {
                state.stamp = st;
                *self.keys.write().expect("keyring lock") = Arc::new(keys);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "could not reload the key file; keeping the previous keys");
                false
            }
        }
    }

    /// [`Keyring::decrypt`], re-reading the key file once if the value names an unknown key.
    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        match self.current().decrypt(stored) {
            Err(CryptoError::UnknownKey { .. }) if self.refresh(true) => self.current().decrypt(stored),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        let bytes = [0u8, 1, 15, 16, 171, 255];
        assert_eq!(hex(&bytes), bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rapport-crypto-{name}-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn round_trip() {
        let k = Keyring::generate();
        for p in ["alice@example.com", "+1 555 0100", "", "ünïcødé ✓"] {
            let c = k.encrypt(p);
            assert!(c.starts_with("enc1:k1:"), "{c}");
            assert!(!c.contains(p) || p.is_empty());
            assert_eq!(k.decrypt(&c).unwrap(), p);
        }
    }

    #[test]
    fn two_encryptions_differ() {
        let k = Keyring::generate();
        let a = k.encrypt("alice@example.com");
        let b = k.encrypt("alice@example.com");
        assert_ne!(a, b);
        let nonce = |s: &str| URL_SAFE_NO_PAD.decode(&s[8..]).unwrap()[..NONCE_LEN].to_vec();
        assert_ne!(nonce(&a), nonce(&b));
    }

    #[test]
    fn tampering_is_detected() {
        let k = Keyring::generate();
        let c = k.encrypt("alice@example.com");
        let prefix_len = "enc1:k1:".len();
        let mut bytes = URL_SAFE_NO_PAD.decode(&c[prefix_len..]).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let forged = format!("enc1:k1:{}", URL_SAFE_NO_PAD.encode(&bytes));
            let err = k.decrypt(&forged).unwrap_err();
            assert!(matches!(err, CryptoError::Tampered { ref id } if id == "k1"), "{err}");
            bytes[i] ^= 1;
        }
        assert!(matches!(k.decrypt("enc1:k1:AAAA"), Err(CryptoError::Malformed(_))));
        assert!(matches!(k.decrypt("enc1:k1"), Err(CryptoError::Malformed(_))));
        assert!(matches!(k.decrypt("enc1:k1:not base64!"), Err(CryptoError::Malformed(_))));
    }

    #[test]
    fn relabelling_the_key_id_fails() {
        let mut k = Keyring::generate();
        let c = k.encrypt("alice@example.com");
        k.add_data_key();
        // Even if k2 had the same secret, the id is bound as associated data.
        let mut same = k.clone();
        same.data[1] = DataKey::new("k2".into(), same.data[0].secret);
        let relabelled = c.replacen("enc1:k1:", "enc1:k2:", 1);
        assert!(matches!(same.decrypt(&relabelled), Err(CryptoError::Tampered { .. })));
    }

    #[test]
    fn missing_key_id_is_named() {
        let mut old = Keyring::generate();
        old.add_data_key();
        let c = old.encrypt("alice@example.com");
        let without_k2 = Keyring::parse(
            &format!("index {}\ndata k1 {}\n", STANDARD.encode(old.index_secret), STANDARD.encode(old.data[0].secret)),
            "test",
        )
        .unwrap();
        let err = without_k2.decrypt(&c).unwrap_err();
        assert!(matches!(err, CryptoError::UnknownKey { ref id } if id == "k2"));
        let msg = err.to_string();
        assert!(msg.contains("`k2`") && msg.contains("not in the keyring"), "{msg}");
    }

    #[test]
    fn legacy_plaintext_passes_through() {
        let k = Keyring::generate();
        assert_eq!(k.decrypt("alice@example.com").unwrap(), "alice@example.com");
        assert_eq!(k.decrypt("").unwrap(), "");
        assert_eq!(k.decrypt("enc2:whatever").unwrap(), "enc2:whatever");
        assert!(!k.is_current("alice@example.com"));
        assert_eq!(open(None, "alice@example.com").unwrap(), "alice@example.com");
        assert_eq!(seal(None, "alice@example.com"), "alice@example.com");
        assert!(matches!(open(None, &k.encrypt("x")), Err(CryptoError::NoKeyring)));
        assert_eq!(open(Some(&k), &seal(Some(&k), "x")).unwrap(), "x");
    }

    #[test]
    fn blind_index_depends_only_on_the_index_key() {
        let a = Keyring::generate();
        let mut b = a.clone();
        b.add_data_key();
        // Same index key, different data keys: same hashes (also after a file round trip).
        let c = Keyring::parse(&b.to_file_text(), "test").unwrap();
        let other = Keyring::generate();
        let h = a.blind_index("alice@example.com");
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(h, b.blind_index("alice@example.com"));
        assert_eq!(h, c.blind_index("alice@example.com"));
        assert_ne!(h, a.blind_index("bob@example.com"));
        assert_ne!(h, other.blind_index("alice@example.com"));
    }

    #[test]
    fn search_tokens_are_short_keyed_and_separate_from_the_blind_index() {
        let a = Keyring::generate();
        let t = a.search_token("alice@example.com");
        assert_eq!(t.len(), 17);
        assert!(t.starts_with('h'));
        assert!(t[1..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(t, a.clone().search_token("alice@example.com"));
        assert_ne!(t, a.search_token("bob@example.com"));
        assert_ne!(t, Keyring::generate().search_token("alice@example.com"));
        assert!(!a.blind_index("alice@example.com").starts_with(&t[1..]));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let good = STANDARD.encode([7u8; 32]);
        let short = STANDARD.encode([7u8; 16]);
        let cases = [
            (format!("# c\nindex {good}\ndata k1 {short}\n"), 3, "32 bytes"),
            (format!("index {good}\n\ndata k1 !!!\n"), 3, "base64"),
            (format!("index {good}\nindex {good}\n"), 2, "second `index`"),
            (format!("index {good}\ndata k1 {good}\ndata k1 {good}\n"), 3, "twice"),
            (format!("index {good}\ndata k:1 {good}\n"), 2, "key id"),
            (format!("index {good}\ndata {good}\n"), 2, "expected `data"),
            (format!("indx {good}\n"), 1, "unknown entry"),
            (format!("data k1 {good}\n"), 0, "no `index"),
            (format!("index {good}\n"), 0, "no `data"),
        ];
        for (text, line, needle) in cases {
            let err = Keyring::parse(&text, "keys.txt").unwrap_err();
            let CryptoError::Parse { line: l, .. } = &err else { panic!("{err}") };
            assert_eq!(*l, line, "{err}");
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("keys.txt: line {line}: ")), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn file_text_round_trips_and_debug_hides_secrets() {
        let mut k = Keyring::generate();
        k.add_data_key();
        let text = k.to_file_text();
        let back = Keyring::parse(&text, "t").unwrap();
        assert_eq!(back.key_ids(), ["k1", "k2"]);
        assert_eq!(back.active_key_id(), "k2");
        assert_eq!(back.decrypt(&k.encrypt("x")).unwrap(), "x");
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&STANDARD.encode(k.index_secret)), "{dbg}");
        assert!(!dbg.contains(&STANDARD.encode(k.data[0].secret)), "{dbg}");
    }

    #[test]
    fn rotation() {
        let mut k = Keyring::generate();
        let old = k.encrypt("alice@example.com");
        assert!(k.is_current(&old));
        assert_eq!(k.add_data_key(), "k2");
        assert_eq!(k.active_key_id(), "k2");
        assert!(!k.is_current(&old));
        assert_eq!(k.decrypt(&old).unwrap(), "alice@example.com");
        let new = k.encrypt("alice@example.com");
        assert!(new.starts_with("enc1:k2:"));
        assert!(k.is_current(&new));
        // The re-encryption pass.
        let re = k.encrypt(&k.decrypt(&old).unwrap());
        assert!(k.is_current(&re));
        // Retiring.
        assert!(matches!(k.remove_data_key("k2"), Err(CryptoError::Refused(_))));
        k.remove_data_key("k1").unwrap();
        assert!(matches!(k.decrypt(&old), Err(CryptoError::UnknownKey { .. })));
        assert_eq!(k.decrypt(&re).unwrap(), "alice@example.com");
        assert_eq!(k.add_data_key(), "k3");
        // A key id that is a prefix of another is not "current".
        let mut p = Keyring::generate();
        let v1 = p.encrypt("x");
        for _ in 0..9 {
            p.add_data_key();
        }
        assert_eq!(p.active_key_id(), "k10");
        assert!(!p.is_current(&v1));
        let mut q = Keyring::generate();
        q.data[0] = DataKey::new("k10".into(), random_key());
        q.data.push(DataKey::new("k1".into(), random_key()));
        assert!(!q.is_current(&q.encrypt("x").replacen("enc1:k1:", "enc1:k10:", 1)));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_not_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("file");
        let path = dir.join("rapport.key");
        let k = Keyring::generate();
        k.create_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = Keyring::generate().create_file(&path).unwrap_err();
        assert!(matches!(&err, CryptoError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists));
        let mut loaded = Keyring::load(&path).unwrap();
        assert_eq!(loaded.blind_index("a"), k.blind_index("a"));
        loaded.add_data_key();
        loaded.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Keyring::load(&path).unwrap().active_key_id(), "k2");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shared_keyring_follows_rotation_in_another_process() {
        let dir = temp_dir("shared");
        let path = dir.join("rapport.key");
        let k = Keyring::generate();
        k.create_file(&path).unwrap();
        let shared = SharedKeyring::from_file(&path, Duration::from_secs(3600)).unwrap();
        // Another process rotates and writes under the new key.
        let mut rotated = Keyring::load(&path).unwrap();
        rotated.add_data_key();
        rotated.save(&path).unwrap();
        let v = rotated.encrypt("alice@example.com");
        // Not yet reloaded (long check interval), but an unknown id forces a reload.
        assert_eq!(shared.current().active_key_id(), "k1");
        assert_eq!(shared.decrypt(&v).unwrap(), "alice@example.com");
        assert_eq!(shared.current().active_key_id(), "k2");
        // A broken file keeps the previous keys.
        std::fs::write(&path, "garbage").unwrap();
        assert!(!shared.refresh(true));
        assert_eq!(shared.current().active_key_id(), "k2");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

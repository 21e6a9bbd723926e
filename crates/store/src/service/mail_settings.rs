//! The mail settings admins keep (one row of `mail_settings`): read and changed by admins with
//! a version check, every change audited in its transaction (passwords only as "changed"), the
//! passwords sealed at rest; and read in the clear by `rapport serve`'s mail jobs.

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::service::mail_settings::{MailSettings, MailSettingsData, MailSettingsInput, TlsMode};
use serde_json::{Map, Value, json};

use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

/// The stored row: settings, version, when saved.
type Saved = (MailSettingsData, i64, Option<String>);

/// The plain fields as the JSON of the `settings` column.
fn plain_json(d: &MailSettingsData) -> Value {
    json!({
        "smtp_host": d.smtp_host, "smtp_port": d.smtp_port, "smtp_tls": d.smtp_tls.map(TlsMode::as_str), "smtp_user": d.smtp_user,
        "mail_from": d.mail_from, "imap_host": d.imap_host, "imap_port": d.imap_port, "imap_tls": d.imap_tls.map(TlsMode::as_str),
        "imap_user": d.imap_user, "imap_folder": d.imap_folder, "imap_ca_pem": d.imap_ca_pem, "imap_poll_secs": d.imap_poll_secs,
    })
}

fn from_json(v: &Value, smtp_password: Option<String>, imap_password: Option<String>) -> MailSettingsData {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let n = |k: &str| v.get(k).and_then(Value::as_i64);
    let t = |k: &str| v.get(k).and_then(Value::as_str).and_then(TlsMode::parse);
    MailSettingsData {
        smtp_host: s("smtp_host"),
        smtp_port: n("smtp_port"),
        smtp_tls: t("smtp_tls"),
        smtp_user: s("smtp_user"),
        smtp_password,
        mail_from: s("mail_from"),
        imap_host: s("imap_host"),
        imap_port: n("imap_port"),
        imap_tls: t("imap_tls"),
        imap_user: s("imap_user"),
        imap_password,
        imap_folder: s("imap_folder"),
        imap_ca_pem: s("imap_ca_pem"),
        imap_poll_secs: n("imap_poll_secs"),
    }
}

const SELECT: &str = "SELECT settings, smtp_password, imap_password, version, updated_at FROM mail_settings WHERE id = 1";

impl Store {
    fn settings_row(&self, r: &dyn crate::row::Row) -> Result<Saved> {
        let settings: String = r.get("settings")?;
        let v: Value = serde_json::from_str(&settings).unwrap_or(Value::Null);
        let data = from_json(&v, self.open_opt(r.get("smtp_password")?)?, self.open_opt(r.get("imap_password")?)?);
        Ok((data, r.get("version")?, Some(r.get("updated_at")?)))
    }

    async fn mail_settings_in(&self, tx: &mut WriteTx) -> Result<Saved> {
        let row = tx.fetch_optional(&sql(SELECT, []), |r| self.settings_row(r)).await?;
        Ok(row.unwrap_or_default())
    }

    /// The mail settings as saved (admins; passwords only said to be set).
    pub async fn mail_settings(&self, actor: &Actor) -> Result<MailSettings> {
        require(actor, Object::User, Action::Update)?;
        let (d, version, at) = self.mail_settings_data_row().await?;
        Ok(d.shown(version, at))
    }

    async fn mail_settings_data_row(&self) -> Result<Saved> {
        Ok(self.read_optional(&sql(SELECT, []), |r| self.settings_row(r)).await?.unwrap_or_default())
    }

    /// The mail settings with their passwords, for the server's mail jobs (nobody's request).
    pub async fn mail_settings_data(&self) -> Result<MailSettingsData> {
        Ok(self.mail_settings_data_row().await?.0)
    }

    /// Changes the mail settings (admins): `if_match`, when given, must be the stored version
    /// (0 before the first save). Audited with the fields changed; a password as `"changed"`.
    pub async fn save_mail_settings(&self, actor: &Actor, if_match: Option<i64>, input: MailSettingsInput) -> Result<MailSettings> {
        require(actor, Object::User, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let (cur, version, _) = self.mail_settings_in(&mut tx).await?;
        if let Some(v) = if_match
            && v != version
        {
            return Err(Error::VersionMismatch { current: version });
        }
        let next = input.apply(&cur)?;
        let now = now_rfc3339();
        let seal = |p: &Option<String>| p.as_ref().map(|p| self.seal(p));
        let (smtp, imap) = (seal(&next.smtp_password), seal(&next.imap_password));
        let plain = plain_json(&next).to_string();
        if version == 0 {
            tx.execute(&sql(
                "INSERT INTO mail_settings (id, settings, smtp_password, imap_password, version, updated_at) VALUES (1, ?, ?, ?, 1, ?)",
                [plain.into(), smtp.into(), imap.into(), now.clone().into()],
            ))
            .await?;
        } else {
            tx.execute(&sql(
                "UPDATE mail_settings SET settings = ?, smtp_password = ?, imap_password = ?, version = version + 1, updated_at = ? WHERE id = 1",
                [plain.into(), smtp.into(), imap.into(), now.clone().into()],
            ))
            .await?;
        }
        let (before, after) = (plain_json(&cur), plain_json(&next));
        let mut changed = Map::new();
        for (k, a) in after.as_object().into_iter().flatten() {
            let b = &before[k];
            if b != a {
                changed.insert(k.clone(), json!([b, a]));
            }
        }
        for (k, b, a) in
            [("smtp_password", &cur.smtp_password, &next.smtp_password), ("imap_password", &cur.imap_password, &next.imap_password)]
        {
            if b != a {
                changed.insert(k.into(), json!(if a.is_some() { "changed" } else { "cleared" }));
            }
        }
        self.audit(&mut tx, actor, "update", "mail_settings", None, Value::Object(changed)).await?;
        tx.commit().await?;
        Ok(next.shown(version + 1, Some(now)))
    }
}

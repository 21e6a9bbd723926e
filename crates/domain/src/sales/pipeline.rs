//! Pipelines: the ordered stages an opportunity goes through, configured by admins. A team may
//! keep several (new business, renewals, partners).
//!
//! A stage is named by a `key`, a slug that stays put when the stage is renamed or moved, so
//! opportunities and their stage history keep pointing at it (`"stage": "proposal"` reads
//! better in the API and in exports than a number would). A stage's outcome — open, won or
//! lost — is fixed once it exists, because opportunities in it carry that outcome as their
//! status; to turn a stage into another kind, add a new stage.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::apply_name;
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::{ValidationErrors, text};

/// Pipelines as a record type: not owned (everyone who reads pipelines reads them all), their
/// stages one JSON list.
pub static SPEC: RecordSpec = RecordSpec {
    name: "pipeline",
    plural: "pipelines",
    label: "pipeline",
    label_plural: "pipelines",
    object: Object::Pipeline,
    title: "name",
    owned: false,
    custom: None,
    fields: &[Field::new("name", "Name", Kind::Text).sorted(), Field::new("stages", "Stages", Kind::Json)],
};

/// Whether a stage is still in play or ends the opportunity, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    /// Still being worked.
    #[default]
    Open,
    /// Closed, the customer bought.
    Won,
    /// Closed, the customer did not buy.
    Lost,
}

impl StageOutcome {
    /// Every outcome.
    pub const ALL: [StageOutcome; 3] = [StageOutcome::Open, StageOutcome::Won, StageOutcome::Lost];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            StageOutcome::Open => "open",
            StageOutcome::Won => "won",
            StageOutcome::Lost => "lost",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<StageOutcome> {
        StageOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Won or lost.
    pub fn is_closed(self) -> bool {
        self != StageOutcome::Open
    }
}

/// One stage of a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageData {
    /// Stable key within the pipeline: a lower-case letter, then up to 39 lower-case letters,
    /// digits or `_` (`needs_analysis`).
    pub key: String,
    /// Name as shown, 1 to 100 characters, unique in the pipeline (ignoring case and accents).
    pub name: String,
    /// Chance of winning an opportunity in this stage, 0 to 100 (%): 100 for the won stage, 0
    /// for lost ones.
    pub probability: i64,
    /// Open, won or lost.
    pub outcome: StageOutcome,
}

/// A pipeline's editable fields, always valid (built by [`PipelineInput::apply`]): a name and
/// its stages in board order, with at least one open stage, exactly one won stage (so "won" is
/// one column of the board and one figure in forecasts) and at least one lost stage (teams
/// often tell "lost" from "no decision").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PipelineData {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Stages in board order.
    pub stages: Vec<StageData>,
}

/// The most stages a pipeline has.
pub const MAX_STAGES: usize = 30;

impl PipelineData {
    /// The standard sales pipeline: Qualification 10 %, Needs analysis 25 %, Proposal 50 %,
    /// Negotiation 75 %, Won 100 %, Lost 0 %.
    pub fn default_sales() -> PipelineData {
        let stage = |key: &str, name: &str, probability, outcome| StageData { key: key.into(), name: name.into(), probability, outcome };
        PipelineData {
            name: "Sales".into(),
            stages: vec![
                stage("qualification", "Qualification", 10, StageOutcome::Open),
                stage("needs_analysis", "Needs analysis", 25, StageOutcome::Open),
                stage("proposal", "Proposal", 50, StageOutcome::Open),
                stage("negotiation", "Negotiation", 75, StageOutcome::Open),
                stage("won", "Won", 100, StageOutcome::Won),
                stage("lost", "Lost", 0, StageOutcome::Lost),
            ],
        }
    }

    /// The stage with `key`.
    pub fn stage(&self, key: &str) -> Option<&StageData> {
        self.stages.iter().find(|s| s.key == key)
    }

    /// The first open stage, where new opportunities start.
    pub fn first_open(&self) -> Option<&StageData> {
        self.stages.iter().find(|s| s.outcome == StageOutcome::Open)
    }

    /// The won stage.
    pub fn won_stage(&self) -> Option<&StageData> {
        self.stages.iter().find(|s| s.outcome == StageOutcome::Won)
    }

    /// The keys of the stages with `outcome`, in order.
    pub fn keys_with(&self, outcome: StageOutcome) -> Vec<&str> {
        self.stages.iter().filter(|s| s.outcome == outcome).map(|s| s.key.as_str()).collect()
    }

    /// Keys of this pipeline's stages that `updated` no longer has: the store must refuse the
    /// update while an opportunity is in one of them.
    pub fn removed_keys(&self, updated: &PipelineData) -> Vec<String> {
        self.stages.iter().filter(|s| updated.stage(&s.key).is_none()).map(|s| s.key.clone()).collect()
    }

    /// Checks the whole-pipeline rules, reporting under `stages`.
    fn check_stages(&self, errs: &mut ValidationErrors) {
        let count = |o| self.stages.iter().filter(|s| s.outcome == o).count();
        if self.stages.len() > MAX_STAGES {
            errs.add("stages", format!("a pipeline has at most {MAX_STAGES} stages"));
        }
        if count(StageOutcome::Open) == 0 {
            errs.add("stages", "a pipeline needs at least one open stage");
        }
        match count(StageOutcome::Won) {
            1 => {}
            0 => errs.add("stages", "a pipeline needs a won stage"),
            _ => errs.add("stages", "a pipeline has exactly one won stage"),
        }
        if count(StageOutcome::Lost) == 0 {
            errs.add("stages", "a pipeline needs at least one lost stage");
        }
    }
}

/// A pipeline as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pipeline {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: PipelineData,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Pipeline {
    /// What a sync listing shows of a deleted pipeline: that it is gone, and nothing else.
    pub fn tombstone(self) -> Pipeline {
        Pipeline { data: PipelineData::default(), ..self }
    }
}

/// One stage as a client sends it. A stage whose `key` the pipeline already has is that stage
/// (absent fields keep their values); any other is a new stage.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    /// Key of an existing stage, or the key for a new one; when absent, derived from the name
    /// (`Needs analysis` → `needs_analysis`).
    pub key: Option<String>,
    /// Name; required for a new stage.
    pub name: Option<String>,
    /// Win probability 0 to 100; required for a new open stage, 100 by default for won and 0
    /// for lost.
    pub probability: Option<i64>,
    /// Outcome; a new stage is open unless told otherwise. It cannot change once the stage
    /// exists.
    pub outcome: Option<StageOutcome>,
}

/// What a client sends to create (`name` required; stages default to the standard ones) or
/// update a pipeline.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineInput {
    /// Name.
    pub name: Option<String>,
    /// All stages in order (replaces the list; stages left out are removed).
    pub stages: Option<Vec<StageInput>>,
}

/// Checks a stage key a client chose.
pub fn parse_stage_key(raw: &str) -> Result<String, String> {
    let k = raw.trim();
    let ok = k.len() <= 40
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(k.to_string()) } else { Err(format!("'{k}' must be a lower-case letter then up to 39 lower-case letters, digits or _")) }
}

/// A key derived from a stage name: folded to lower-case ASCII words joined by `_`.
fn slug(name: &str) -> String {
    let folded = text::fold(name);
    let mut s: String = folded.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ').map(|c| if c == ' ' { '_' } else { c }).collect();
    s = s.trim_matches('_').to_string();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "s_");
    }
    s.truncate(40);
    s.trim_end_matches('_').to_string()
}

impl PipelineInput {
    /// Merges onto `current` (or a new pipeline) and validates the stages and the pipeline's
    /// rules; stage errors are reported as `stages.N.<field>`.
    pub fn apply(self, current: Option<&PipelineData>) -> Result<PipelineData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_else(|| PipelineData { name: String::new(), ..PipelineData::default_sales() });
        apply_name(&mut errs, self.name, creating, &mut d.name);
        if let Some(stages) = self.stages {
            let existing = current.map(|c| c.stages.as_slice()).unwrap_or(&[]);
            d.stages = apply_stages(&mut errs, stages, existing);
        }
        d.check_stages(&mut errs);
        errs.into_result(d)
    }
}

fn apply_stages(errs: &mut ValidationErrors, input: Vec<StageInput>, existing: &[StageData]) -> Vec<StageData> {
    let mut out: Vec<StageData> = Vec::with_capacity(input.len());
    let mut keys: HashSet<String> = HashSet::new();
    let mut names: HashSet<String> = HashSet::new();
    let explicit: HashSet<String> = input.iter().filter_map(|s| s.key.as_deref().map(|k| k.trim().to_string())).collect();
    for (i, s) in input.into_iter().enumerate() {
        let f = |name: &str| format!("stages.{i}.{name}");
        let key = match &s.key {
            Some(k) => errs.check(&f("key"), parse_stage_key(k)),
            None => None,
        };
        let old = key.as_deref().and_then(|k| existing.iter().find(|e| e.key == k));
        let mut st = old.cloned().unwrap_or_default();
        match s.name.as_deref().map(|n| super::required_text(n, 100)) {
            Some(Ok(n)) => st.name = n,
            Some(Err(m)) => errs.add(f("name"), m),
            None if old.is_none() => errs.add(f("name"), "is required for a new stage"),
            None => {}
        }
        match (old, s.outcome) {
            (Some(o), Some(new)) if o.outcome != new => errs.add(
                f("outcome"),
                format!("stage '{}' is {}; a stage's outcome cannot change once it exists, so add a new stage", o.key, o.outcome.as_str()),
            ),
            (None, Some(new)) => st.outcome = new,
            _ => {}
        }
        match (s.probability, old, st.outcome) {
            (Some(p), _, _) if !(0..=100).contains(&p) => errs.add(f("probability"), "must be from 0 to 100"),
            (Some(p), _, _) => st.probability = p,
            (None, None, StageOutcome::Won) => st.probability = 100,
            (None, None, StageOutcome::Lost) => st.probability = 0,
            (None, None, StageOutcome::Open) => errs.add(f("probability"), "is required for a new open stage (0 to 100)"),
            (None, Some(_), _) => {}
        }
        match st.outcome {
            StageOutcome::Won if st.probability != 100 => errs.add(f("probability"), "the won stage has probability 100"),
            StageOutcome::Lost if st.probability != 0 => errs.add(f("probability"), "a lost stage has probability 0"),
            _ => {}
        }
        st.key = match key {
            Some(k) => k,
            None if s.key.is_some() => String::new(), // already reported
            None => {
                // A derived key avoids every key in use: earlier stages', keys the input names
                // explicitly, and the current stages' (so a new stage never inherits a removed
                // stage's opportunities).
                let base = if slug(&st.name).is_empty() { format!("stage_{}", i + 1) } else { slug(&st.name) };
                let mut k = base.clone();
                let mut n = 2;
                while keys.contains(&k) || explicit.contains(&k) || existing.iter().any(|e| e.key == k) {
                    k = format!("{}_{n}", &base[..base.len().min(36)]);
                    n += 1;
                }
                k
            }
        };
        if !st.key.is_empty() && !keys.insert(st.key.clone()) {
            errs.add(f("key"), format!("'{}' is used by an earlier stage", st.key));
        }
        if !st.name.is_empty() && !names.insert(text::fold(&st.name)) {
            errs.add(f("name"), format!("'{}' is used by an earlier stage", st.name));
        }
        out.push(st);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> PipelineInput {
        serde_json::from_str(json).unwrap()
    }

    fn fields(e: &ValidationErrors) -> Vec<&str> {
        e.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn the_default_pipeline_is_valid_and_standard() {
        let p = PipelineData::default_sales();
        let mut errs = ValidationErrors::default();
        p.check_stages(&mut errs);
        assert!(errs.0.is_empty(), "{errs}");
        let shown: Vec<(&str, i64)> = p.stages.iter().map(|s| (s.name.as_str(), s.probability)).collect();
        assert_eq!(
            shown,
            [("Qualification", 10), ("Needs analysis", 25), ("Proposal", 50), ("Negotiation", 75), ("Won", 100), ("Lost", 0)]
        );
        assert_eq!(p.first_open().unwrap().key, "qualification");
        assert_eq!(p.won_stage().unwrap().key, "won");
        assert_eq!(p.keys_with(StageOutcome::Lost), ["lost"]);
        assert_eq!(p.stage("proposal").unwrap().probability, 50);
        assert!(p.stage("nope").is_none());
    }

    #[test]
    fn a_new_pipeline_takes_the_standard_stages_unless_given_its_own() {
        let p = input(r#"{"name":"Renewals"}"#).apply(None).unwrap();
        assert_eq!(p.name, "Renewals");
        assert_eq!(p.stages, PipelineData::default_sales().stages);
        let p = input(
            r#"{"name":"Partners","stages":[{"name":"First call","probability":20},{"name":"Signed","outcome":"won"},
                {"name":"Gone","outcome":"lost"},{"name":"No decision","outcome":"lost","key":"stalled"}]}"#,
        )
        .apply(None)
        .unwrap();
        let keys: Vec<(&str, i64, StageOutcome)> = p.stages.iter().map(|s| (s.key.as_str(), s.probability, s.outcome)).collect();
        assert_eq!(
            keys,
            [
                ("first_call", 20, StageOutcome::Open),
                ("signed", 100, StageOutcome::Won),
                ("gone", 0, StageOutcome::Lost),
                ("stalled", 0, StageOutcome::Lost)
            ]
        );
        assert_eq!(fields(&input("{}").apply(None).unwrap_err()), ["name"]);
    }

    #[test]
    fn pipeline_rules_are_reported_under_stages() {
        let only_open = r#"{"name":"P","stages":[{"name":"A","probability":5}]}"#;
        let e = input(only_open).apply(None).unwrap_err();
        assert_eq!(
            e.0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["a pipeline needs a won stage", "a pipeline needs at least one lost stage"]
        );
        let two_won =
            r#"{"name":"P","stages":[{"name":"W1","outcome":"won"},{"name":"W2","outcome":"won"},{"name":"L","outcome":"lost"}]}"#;
        let e = input(two_won).apply(None).unwrap_err();
        assert_eq!(
            e.0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
            ["a pipeline needs at least one open stage", "a pipeline has exactly one won stage"]
        );
        let many: Vec<String> = (0..31).map(|i| format!(r#"{{"name":"S{i}","probability":1}}"#)).collect();
        let e = input(&format!(r#"{{"name":"P","stages":[{}]}}"#, many.join(","))).apply(None).unwrap_err();
        assert!(e.0.iter().any(|e| e.message.contains("at most 30")));
        assert!(input(r#"{"name":"P","stages":[]}"#).apply(None).is_err());
    }

    #[test]
    fn stage_errors_name_the_stage_and_field() {
        let e = input(
            r#"{"name":"P","stages":[
                {"name":"A"},
                {"name":"a","probability":101},
                {"name":"W","outcome":"won","probability":90},
                {"name":"L","outcome":"lost","probability":5},
                {"key":"Bad Key","name":"X","probability":1},
                {"key":"x1","name":"Y","probability":1},
                {"key":"x1","name":"Z","probability":1},
                {"probability":1}
            ]}"#,
        )
        .apply(None)
        .unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "stages.0.probability",
                "stages.1.probability",
                "stages.1.name",
                "stages.2.probability",
                "stages.3.probability",
                "stages.4.key",
                "stages.6.key",
                "stages.7.name"
            ]
        );
    }

    #[test]
    fn derived_keys_are_slugs_made_unique() {
        assert_eq!(slug("Needs analysis"), "needs_analysis");
        assert_eq!(slug("  Über-Prüfung!! "), "uber_prufung");
        assert_eq!(slug("2nd call"), "s_2nd_call");
        assert_eq!(slug("見積"), "", "nothing ASCII to keep");
        let p = input(
            r#"{"name":"P","stages":[{"name":"Demo","probability":1},{"name":"Demo!","probability":2},{"name":"見積","probability":3},
                {"name":"Won","outcome":"won"},{"name":"Lost","outcome":"lost"}]}"#,
        )
        .apply(None)
        .unwrap_err();
        // "Demo" and "Demo!" fold to the same name, which is refused; the keys would differ.
        assert_eq!(fields(&p), ["stages.1.name"]);
        let p = input(
            r#"{"name":"P","stages":[{"name":"Demo","probability":1},{"name":"Demo 2","probability":2},{"name":"Demo_2","probability":2},{"name":"見積","probability":3},
                {"name":"Won","outcome":"won"},{"name":"Lost","outcome":"lost"}]}"#,
        )
        .apply(None);
        // "Demo 2" and "Demo_2" fold alike too.
        assert_eq!(fields(&p.unwrap_err()), ["stages.2.name"]);
        let p = input(
            r#"{"name":"P","stages":[{"name":"Demo","probability":1},{"name":"Dem-o","probability":2},{"name":"見積","probability":3},
                {"name":"Won","outcome":"won"},{"name":"Lost","outcome":"lost"}]}"#,
        )
        .apply(None)
        .unwrap();
        let keys: Vec<&str> = p.stages.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["demo", "dem_o", "stage_3", "won", "lost"]);
        let p = input(
            r#"{"name":"P","stages":[{"name":"Won","probability":1},{"name":"Closed","outcome":"won","key":"won_2"},{"name":"Won again","outcome":"lost","key":"lost"}]}"#,
        )
        .apply(None)
        .unwrap();
        assert_eq!(p.stages.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["won", "won_2", "lost"]);
    }

    #[test]
    fn a_derived_key_never_takes_an_existing_stages_key() {
        let current = PipelineData::default_sales();
        // A new stage named "Proposal " next to the old "proposal" stage, which is dropped: the
        // new stage must not inherit the old stage's key (and with it its opportunities).
        let p = input(r#"{"stages":[{"name":"Proposal","probability":40},{"key":"won"},{"key":"lost"}]}"#).apply(Some(&current)).unwrap();
        assert_eq!(p.stages[0].key, "proposal_2");
        assert_eq!(current.removed_keys(&p), ["qualification", "needs_analysis", "proposal", "negotiation"]);
        // Nor a key the same input gives another stage.
        let p = input(r#"{"name":"P","stages":[{"name":"Demo","probability":1},{"key":"demo","name":"Other","probability":2},{"name":"W","outcome":"won"},{"name":"L","outcome":"lost"}]}"#)
            .apply(None)
            .unwrap();
        assert_eq!(p.stages.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["demo_2", "demo", "w", "l"]);
    }

    #[test]
    fn existing_stages_are_renamed_reordered_and_keep_their_outcome() {
        let current = PipelineData::default_sales();
        let p = input(
            r#"{"stages":[{"key":"proposal","name":"Quote"},{"key":"qualification","probability":15},{"key":"won"},{"key":"lost","name":"Closed lost"}]}"#,
        )
        .apply(Some(&current))
        .unwrap();
        let shown: Vec<(&str, &str, i64)> = p.stages.iter().map(|s| (s.key.as_str(), s.name.as_str(), s.probability)).collect();
        assert_eq!(
            shown,
            [("proposal", "Quote", 50), ("qualification", "Qualification", 15), ("won", "Won", 100), ("lost", "Closed lost", 0)]
        );
        assert_eq!(p.name, "Sales");
        let e = input(r#"{"stages":[{"key":"proposal","outcome":"won"},{"key":"won"},{"key":"lost"}]}"#).apply(Some(&current)).unwrap_err();
        assert_eq!(fields(&e), ["stages.0.outcome"]);
        assert!(e.0[0].message.contains("cannot change once it exists"));
        let same = input(r#"{"stages":[{"key":"proposal","outcome":"open"},{"key":"won"},{"key":"lost"}]}"#).apply(Some(&current));
        assert!(same.is_ok(), "restating the outcome is fine");
        let e = input(r#"{"stages":[{"key":"proposal","probability":-1},{"key":"won","probability":99},{"key":"lost"}]}"#)
            .apply(Some(&current))
            .unwrap_err();
        assert_eq!(fields(&e), ["stages.0.probability", "stages.1.probability"]);
    }

    #[test]
    fn outcomes_have_names_and_closedness() {
        for o in StageOutcome::ALL {
            assert_eq!(StageOutcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        assert!(!StageOutcome::Open.is_closed() && StageOutcome::Won.is_closed() && StageOutcome::Lost.is_closed());
        assert_eq!(StageOutcome::parse("closed"), None);
    }

    #[test]
    fn stage_keys_are_checked() {
        assert!(parse_stage_key("needs_analysis2").is_ok());
        for bad in ["", "2x", "X", "a-b", "a b", &"a".repeat(41)] {
            assert!(parse_stage_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tombstones_keep_nothing_but_identity() {
        let p = Pipeline {
            id: 1,
            data: PipelineData::default_sales(),
            created_at: "a".into(),
            updated_at: "b".into(),
            deleted_at: None,
            version: 1,
        };
        assert!(serde_json::to_value(&p).unwrap().get("deleted_at").is_none());
        assert_eq!(serde_json::to_value(&p).unwrap()["stages"][0]["key"], "qualification");
        assert_eq!(p.tombstone().data, PipelineData::default());
    }
}

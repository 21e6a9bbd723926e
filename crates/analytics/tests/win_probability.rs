//! Win probability of open opportunities: against scikit-learn, on data with a planted truth,
//! determinism, the leak-free owner win rate, and refusals.

mod util;

use rapport_analytics::Error;
use rapport_analytics::win_probability::*;
use util::*;

/// A fixture deal's owner, close time and the script's owner win rate.
type OwnerRow = (i64, i64, Option<i64>, f64);

fn reference_deals() -> (Vec<DealFeatures>, Vec<OwnerRow>) {
    let (h, rows) = read_csv(reference("win_probability/deals.csv"));
    let c = |name: &str| col(&h, name);
    let f = |r: &Vec<String>, name: &str| r[c(name)].parse::<f64>().unwrap();
    let mut deals = vec![];
    let mut owners = vec![];
    for r in &rows {
        let id: i64 = r[c("id")].parse().unwrap();
        let outcome = match r[c("outcome")].as_str() {
            "won" => Some(true),
            "lost" => Some(false),
            _ => None,
        };
        let closed_at = Some(r[c("closed_at")].as_str()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap());
        owners.push((id, r[c("owner")].parse().unwrap(), closed_at, f(r, "owner_win_rate")));
        deals.push(DealFeatures {
            id,
            stage: r[c("stage")].clone(),
            stage_probability: f(r, "stage_probability"),
            age_days: f(r, "age_days"),
            days_in_stage: f(r, "days_in_stage"),
            amount: f(r, "amount"),
            activities: f(r, "activities"),
            owner_win_rate: f(r, "owner_win_rate"),
            outcome,
        });
    }
    (deals, owners)
}

fn close_rel(g: f64, w: f64, tol: f64) -> bool {
    (g - w).abs() / w.abs().max(1.0) <= tol
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn matches_sklearn_reference() {
    let (mut deals, owners) = reference_deals();
    let want = json(reference("win_probability/reference.json"));
    assert_eq!(want["features"].as_array().unwrap().len(), Feature::ALL.len());
    for (j, f) in Feature::ALL.iter().enumerate() {
        assert_eq!(want["features"][j].as_str().unwrap(), f.name());
    }

    // The leak-free owner win rate agrees with the script's brute force.
    let as_of = want["as_of"].as_i64().unwrap();
    let history: Vec<ClosedOutcome> = deals
        .iter()
        .zip(&owners)
        .filter_map(|(d, &(_, owner, closed_at, _))| Some(ClosedOutcome { owner, closed_at: closed_at?, won: d.outcome? }))
        .collect();
    let index = OwnerHistory::new(&history);
    for (d, &(id, owner, closed_at, rate)) in deals.iter_mut().zip(&owners) {
        let mine = index.win_rate_before(owner, closed_at.unwrap_or(as_of));
        assert!((mine - rate).abs() < 1e-12, "deal {id}: owner rate {mine} vs {rate}");
        d.owner_win_rate = mine;
    }

    let params = WinParams { c: want["C"].as_f64().unwrap(), seed: want["seed"].as_u64().unwrap(), ..WinParams::default() };
    assert_eq!(params.test_fraction, want["test_fraction"].as_f64().unwrap());
    let r = win_probability(&deals, &params).unwrap();
    let m = &r.model;
    assert_eq!(m.n_closed as u64, want["n_closed"].as_u64().unwrap());
    assert_eq!(m.n_won as u64, want["n_won"].as_u64().unwrap());

    let wh = &want["holdout"];
    let test_ids: Vec<i64> = wh["test_ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(m.holdout.test_ids, test_ids, "same held-out split as the script");
    assert_eq!(m.holdout.n_train as u64, wh["n_train"].as_u64().unwrap());
    assert_eq!(m.holdout.n_test as u64, wh["n_test"].as_u64().unwrap());

    let mut worst = 0f64;
    for (label, mean, std, model, w) in [
        ("holdout", &m.holdout.scaler_mean, &m.holdout.scaler_std, &m.holdout.model, wh),
        ("all", &m.scaler_mean, &m.scaler_std, &m.model, &want["model"]),
    ] {
        for (g, e) in mean.iter().zip(floats(&w["scaler_mean"])).chain(std.iter().zip(floats(&w["scaler_std"]))) {
            assert!(close_rel(*g, e, 1e-9), "{label}: scaler {g} vs {e}");
        }
        let want_coef = floats(&w["coef"]).into_iter().chain([w["intercept"].as_f64().unwrap()]);
        for (g, e) in model.coef.iter().chain([&model.intercept]).zip(want_coef) {
            worst = worst.max((g - e).abs() / e.abs().max(1.0));
            assert!(close_rel(*g, e, 1e-3), "{label}: coefficient {g} vs {e}");
        }
    }
    assert!((m.holdout.test_auc - wh["test_auc"].as_f64().unwrap()).abs() <= 1e-4);
    assert!((m.holdout.test_log_loss - wh["test_log_loss"].as_f64().unwrap()).abs() <= 1e-4);
    let acc = wh["test_accuracy"].as_f64().unwrap();
    assert!((m.holdout.test_accuracy - acc).abs() <= 2.0 / m.holdout.n_test as f64 + 1e-9);

    let want_open = want["open"].as_array().unwrap();
    assert_eq!(r.predictions.len(), want_open.len());
    let mut worst_p = 0f64;
    for (p, w) in r.predictions.iter().zip(want_open) {
        assert_eq!(p.id, w["id"].as_i64().unwrap());
        worst_p = worst_p.max((p.probability - w["p_win"].as_f64().unwrap()).abs());
    }
    assert!(worst_p <= 1e-4);
    eprintln!("worst coefficient error {worst:e}, worst open-deal |p| error {worst_p:e}, test AUC {:.4}", m.holdout.test_auc);

    // The planted truth is visible in the signs.
    assert!(m.coefficient(Feature::StageProbability) > 0.0);
    assert!(m.coefficient(Feature::Activities) > 0.0);
    assert!(m.coefficient(Feature::OwnerWinRate) > 0.0);
    assert!(m.coefficient(Feature::Amount) < 0.0);
    assert!(m.coefficient(Feature::DaysInStage) < 0.0);
}

/// A small deterministic generator (64-bit LCG, top 53 bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const STAGES: [(&str, f64); 4] = [("Qualification", 0.1), ("Discovery", 0.3), ("Proposal", 0.5), ("Negotiation", 0.7)];

/// Closed deals whose outcome depends strongly on activities and owner win rate only.
fn planted(n_closed: usize, n_open: usize, seed: u64) -> Vec<DealFeatures> {
    let mut g = Lcg(seed);
    (0..n_closed + n_open)
        .map(|i| {
            let (stage, p) = STAGES[(g.next() * 4.0) as usize];
            let age = 5.0 + (g.next() * 115.0).floor();
            let activities = (g.next() * 25.0).floor();
            let owner_win_rate = 0.1 + 0.8 * g.next();
            let logit = 1.8 * (activities.ln_1p() - 2.0) + 7.0 * (owner_win_rate - 0.5);
            let won = g.next() < 1.0 / (1.0 + (-logit).exp());
            DealFeatures {
                id: 10 + 7 * i as i64,
                stage: stage.to_string(),
                stage_probability: p,
                age_days: age,
                days_in_stage: (age * g.next()).floor(),
                amount: (7.0 + 2.0 * g.next()).exp().round(),
                activities,
                owner_win_rate,
                outcome: (i < n_closed).then_some(won),
            }
        })
        .collect()
}

#[test]
fn recovers_a_planted_truth() {
    let mut deals = planted(400, 20, 42);
    // An extreme deal: everything ordinary but a flood of activities.
    deals.push(DealFeatures {
        id: 1,
        stage: "Proposal".into(),
        stage_probability: 0.5,
        age_days: 40.0,
        days_in_stage: 15.0,
        amount: 3000.0,
        activities: 400.0,
        owner_win_rate: 0.5,
        outcome: None,
    });
    // And one with no activity at all.
    deals.push(DealFeatures { id: 2, activities: 0.0, ..deals.last().unwrap().clone() });
    let r = win_probability(&deals, &WinParams::default()).unwrap();
    let m = &r.model;
    assert!(m.holdout.test_auc > 0.8, "AUC {}", m.holdout.test_auc);
    assert!(m.holdout.test_accuracy > m.holdout.test_majority_accuracy);
    assert_eq!(m.holdout.n_train + m.holdout.n_test, 400);
    assert_eq!(m.holdout.n_test, 100);
    assert!(m.coefficient(Feature::Activities) > 0.5);
    assert!(m.coefficient(Feature::OwnerWinRate) > 0.5);
    for f in [Feature::StageProbability, Feature::Age, Feature::DaysInStage, Feature::Amount] {
        assert!(m.coefficient(f).abs() < m.coefficient(Feature::Activities) / 3.0, "{f:?} {}", m.coefficient(f));
    }
    assert_eq!(r.predictions.len(), 22);

    let busy = r.predictions.iter().find(|p| p.id == 1).unwrap();
    let top = &busy.factors[0];
    assert_eq!(top.feature, Feature::Activities);
    assert!(top.contribution > 0.0);
    assert_eq!(top.label, "many activities (400)");
    assert!(busy.probability > 0.8);
    assert!(busy.factors.len() <= 3);
    assert!(busy.factors.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));

    let quiet = r.predictions.iter().find(|p| p.id == 2).unwrap();
    assert_eq!(quiet.factors[0].feature, Feature::Activities);
    assert!(quiet.factors[0].contribution < 0.0);
    assert_eq!(quiet.factors[0].label, "no activities logged");
    assert!(quiet.factors[0].to_string().starts_with("no activities logged (\u{2212}"));
    assert!(quiet.probability < busy.probability);

    // Logit = intercept + Σ contributions when every factor is kept.
    let all = WinParams { top_factors: 6, ..WinParams::default() };
    let full = win_probability(&deals, &all).unwrap();
    for p in &full.predictions {
        let logit = full.model.model.intercept + p.factors.iter().map(|f| f.contribution).sum::<f64>();
        assert!((1.0 / (1.0 + (-logit).exp()) - p.probability).abs() < 1e-12);
    }

    let w = weighted_pipeline(&r.predictions);
    assert_eq!(w.open_deals, 22);
    let amount: f64 = deals.iter().filter(|d| d.outcome.is_none()).map(|d| d.amount).sum();
    assert!((w.amount - amount).abs() < 1e-6);
    let by_stage: f64 = deals.iter().filter(|d| d.outcome.is_none()).map(|d| d.amount * d.stage_probability).sum();
    assert!((w.weighted_by_stage - by_stage).abs() < 1e-6);
    assert!(w.weighted_by_model > 0.0 && w.weighted_by_model < w.amount);
}

#[test]
fn same_input_same_output_in_any_order() {
    let deals = planted(120, 10, 7);
    let a = win_probability(&deals, &WinParams::default()).unwrap();
    let b = win_probability(&deals, &WinParams::default()).unwrap();
    assert_eq!(a, b);
    let mut shuffled = deals.clone();
    let mut g = Lcg(3);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (g.next() * (i + 1) as f64) as usize);
    }
    assert_ne!(shuffled, deals);
    assert_eq!(win_probability(&shuffled, &WinParams::default()).unwrap(), a);
    // Another seed gives another split, hence other held-out numbers.
    let other = win_probability(&deals, &WinParams { seed: 1, ..WinParams::default() }).unwrap();
    assert_ne!(other.model.holdout.test_ids, a.model.holdout.test_ids);
    assert_eq!(other.model.model, a.model.model, "the scoring model uses every closed deal, whatever the split");
}

#[test]
fn owner_win_rate_sees_only_the_past() {
    let h = |owner, closed_at, won| ClosedOutcome { owner, closed_at, won };
    let history = [h(1, 10, true), h(1, 20, true), h(2, 20, false), h(1, 30, false), h(2, 40, true)];
    let raw = OwnerHistory::with_prior_weight(&history, 0.0);
    // Nothing closed yet: the team's rate is a coin flip, and so is a newcomer's.
    assert_eq!(raw.team_rate_before(10), 0.5);
    assert_eq!(raw.win_rate_before(1, 10), 0.5);
    // At t = 20 only the deal closed at 10 counts: not the ones closing at 20 itself.
    assert_eq!(raw.counts_before(1, 20), (1, 1));
    assert_eq!(raw.win_rate_before(1, 20), 1.0);
    assert_eq!(raw.counts_before(1, 31), (2, 3));
    assert_eq!(raw.counts_before(2, 40), (0, 1));
    assert_eq!(raw.team_rate_before(40), 0.5); // 2 of 4
    assert_eq!(raw.win_rate_before(3, 100), 0.6); // unknown owner: the team's 3 of 5

    // Smoothed: (wins + 5 · team) / (closed + 5).
    let smooth = OwnerHistory::new(&history);
    assert!((smooth.win_rate_before(1, 31) - (2.0 + 5.0 * 0.5) / 8.0).abs() < 1e-15);
    assert_eq!(smooth.win_rate_before(9, 31), 0.5);

    // A closed deal's own outcome never reaches its feature.
    for flip in [true, false] {
        let mut hist = history.to_vec();
        hist[3].won = flip;
        assert_eq!(OwnerHistory::new(&hist).win_rate_before(1, 30), smooth.win_rate_before(1, 30));
    }
    // Input order does not matter.
    let mut rev = history.to_vec();
    rev.reverse();
    assert_eq!(OwnerHistory::new(&rev), smooth);
}

#[test]
fn refuses_too_little_or_bad_data() {
    let p = WinParams::default();
    let deals = planted(60, 5, 11);
    let closed: Vec<DealFeatures> = deals.iter().filter(|d| d.outcome.is_some()).cloned().collect();

    let few: Vec<DealFeatures> = closed.iter().take(19).cloned().chain(deals.iter().filter(|d| d.outcome.is_none()).cloned()).collect();
    assert_eq!(win_probability(&few, &p).unwrap_err(), Error::TooFew { what: "closed deals", need: MIN_CLOSED, got: 19 });

    let all_won: Vec<DealFeatures> = closed.iter().map(|d| DealFeatures { outcome: Some(true), ..d.clone() }).collect();
    let e = win_probability(&all_won, &p).unwrap_err();
    assert_eq!(e, Error::TooFew { what: "lost deals among closed ones", need: MIN_PER_CLASS, got: 0 });
    assert_eq!(e.to_string(), "not enough data for lost deals among closed ones: need at least 5, got 0");

    let mut four_won: Vec<DealFeatures> = closed.iter().map(|d| DealFeatures { outcome: Some(false), ..d.clone() }).collect();
    for d in four_won.iter_mut().take(4) {
        d.outcome = Some(true);
    }
    assert_eq!(win_probability(&four_won, &p).unwrap_err(), Error::TooFew { what: "won deals among closed ones", need: 5, got: 4 });

    let with = |f: &dyn Fn(&mut DealFeatures)| {
        let mut v = deals.clone();
        f(&mut v[3]);
        win_probability(&v, &p).unwrap_err()
    };
    assert!(matches!(with(&|d| d.amount = f64::NAN), Error::Parameter { name: "amount", .. }));
    assert!(matches!(with(&|d| d.stage_probability = 1.5), Error::Parameter { name: "stage_probability", .. }));
    assert!(matches!(with(&|d| d.owner_win_rate = -0.1), Error::Parameter { name: "owner_win_rate", .. }));
    assert!(matches!(with(&|d| d.id = deals[4].id), Error::Parameter { name: "id", .. }));
    assert!(matches!(win_probability(&deals, &WinParams { c: 0.0, ..p }), Err(Error::Parameter { name: "C", .. })));
    assert!(matches!(win_probability(&deals, &WinParams { test_fraction: 1.0, ..p }), Err(Error::Parameter { name: "test_fraction", .. })));
    assert!(holdout_split(&[1, 2], &[true], 0.25, 0).is_err());

    // Negative amounts, ages and counts are read as 0 rather than refused.
    let mut v = deals.clone();
    v[3].amount = -50.0;
    v[4].age_days = -1.0;
    assert!(win_probability(&v, &p).is_ok());
}

//! Expectations computed by hand from the calendars and the zones' rules for 2026 (Europe/Berlin
//! leaves winter time on 29 March at 02:00 and returns on 25 October at 03:00; America/New_York
//! returns to standard time on 1 November at 02:00).

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn calendar(zone: &str, week: &[(&str, &[&str])], holidays: &[&str]) -> Calendar {
    CalendarInput {
        time_zone: zone.into(),
        week: week.iter().map(|(d, p)| (d.to_string(), p.iter().map(|s| s.to_string()).collect())).collect(),
        holidays: holidays.iter().map(|s| s.to_string()).collect(),
    }
    .validate()
    .unwrap()
}

const WEEKDAYS_9_TO_5: &[(&str, &[&str])] = &[
    ("monday", &["09:00-17:00"]),
    ("tuesday", &["09:00-17:00"]),
    ("wednesday", &["09:00-17:00"]),
    ("thursday", &["09:00-17:00"]),
    ("friday", &["09:00-17:00"]),
];

const HOUR: i64 = 3600;

#[test]
fn counts_working_hours_and_skips_the_weekend() {
    let c = calendar("UTC", WEEKDAYS_9_TO_5, &[]);
    // 2026-12-07 is a Monday.
    assert_eq!(c.business_seconds(at("2026-12-07T10:00:00Z"), at("2026-12-07T12:00:00Z")), 2 * HOUR);
    assert_eq!(c.business_seconds(at("2026-12-07T07:00:00Z"), at("2026-12-07T20:00:00Z")), 8 * HOUR);
    // Friday 16:00 → Monday 10:00: one hour on Friday, one on Monday.
    assert_eq!(c.business_seconds(at("2026-12-11T16:00:00Z"), at("2026-12-14T10:00:00Z")), 2 * HOUR);
    assert_eq!(c.add_business_seconds(at("2026-12-11T16:00:00Z"), 3 * HOUR), Some(at("2026-12-14T11:00:00Z")));
    // Starting on a Saturday, the clock starts on Monday at nine.
    assert_eq!(c.add_business_seconds(at("2026-12-12T12:00:00Z"), 30 * 60), Some(at("2026-12-14T09:30:00Z")));
    // A whole week holds five days of eight hours.
    assert_eq!(c.business_seconds(at("2026-12-07T00:00:00Z"), at("2026-12-14T00:00:00Z")), 40 * HOUR);
}

#[test]
fn several_periods_a_day_leave_the_gaps_out() {
    let c = calendar("UTC", &[("monday", &["13:00-17:00", "09:00-12:00"])], &[]);
    assert_eq!(c.week[0], vec![Period { start: 540, end: 720 }, Period { start: 780, end: 1020 }], "sorted");
    assert_eq!(c.business_seconds(at("2026-12-07T11:00:00Z"), at("2026-12-07T14:00:00Z")), 2 * HOUR);
    // 30 minutes before lunch, then an hour after it.
    assert_eq!(c.add_business_seconds(at("2026-12-07T11:30:00Z"), 90 * 60), Some(at("2026-12-07T14:00:00Z")));
    // Seven hours on Monday; the eighth hour falls on the next Monday.
    assert_eq!(c.add_business_seconds(at("2026-12-07T09:00:00Z"), 8 * HOUR), Some(at("2026-12-14T10:00:00Z")));
    // Exactly at the end of a period: due at that end, not at the next start.
    assert_eq!(c.add_business_seconds(at("2026-12-07T09:00:00Z"), 3 * HOUR), Some(at("2026-12-07T12:00:00Z")));
}

#[test]
fn holidays_have_no_working_time() {
    // Christmas Day 2026 is a Friday.
    let c = calendar("UTC", WEEKDAYS_9_TO_5, &["2026-12-25"]);
    assert_eq!(c.business_seconds(at("2026-12-24T16:00:00Z"), at("2026-12-28T10:00:00Z")), 2 * HOUR);
    assert_eq!(c.add_business_seconds(at("2026-12-24T16:30:00Z"), HOUR), Some(at("2026-12-28T09:30:00Z")));
}

#[test]
fn periods_are_wall_clock_times_of_the_calendars_zone() {
    // New York in December is UTC−5: 09:00–17:00 there is 14:00–22:00 UTC.
    let c = calendar("America/New_York", WEEKDAYS_9_TO_5, &[]);
    assert_eq!(c.business_seconds(at("2026-12-07T13:00:00Z"), at("2026-12-07T15:00:00Z")), HOUR);
    assert_eq!(c.add_business_seconds(at("2026-12-07T03:00:00Z"), HOUR), Some(at("2026-12-07T15:00:00Z")));
    // A holiday is a local day: 2026-12-25 in New York, whatever the UTC date.
    let c = calendar("America/New_York", WEEKDAYS_9_TO_5, &["2026-12-25"]);
    assert_eq!(c.business_seconds(at("2026-12-25T00:00:00Z"), at("2026-12-26T06:00:00Z")), 0);
    // Thursday 24th ends at 22:00 UTC; 3 hours after 21:00 UTC: 1 on Thursday, 2 on Monday 28th.
    assert_eq!(c.add_business_seconds(at("2026-12-24T21:00:00Z"), 3 * HOUR), Some(at("2026-12-28T16:00:00Z")));
}

#[test]
fn a_weekend_across_the_end_of_summer_time_counts_each_day_in_its_own_offset() {
    // Friday 30 October is EDT (UTC−4): work 13:00–21:00 UTC; Monday 2 November is EST (UTC−5):
    // 14:00–22:00 UTC.
    let c = calendar("America/New_York", WEEKDAYS_9_TO_5, &[]);
    assert_eq!(c.business_seconds(at("2026-10-30T20:00:00Z"), at("2026-11-02T15:00:00Z")), 2 * HOUR);
    assert_eq!(c.add_business_seconds(at("2026-10-30T20:00:00Z"), 3 * HOUR), Some(at("2026-11-02T16:00:00Z")));
}

#[test]
fn on_the_nights_the_clock_changes_a_period_lasts_as_long_as_the_wall_clock_says() {
    let sundays = |p: &'static [&'static str]| calendar("Europe/Berlin", &[("sunday", p)], &[]);
    // 29 March: 02:00 CET jumps to 03:00 CEST. 01:00 CET = 00:00 UTC, 04:00 CEST = 02:00 UTC.
    let c = sundays(&["01:00-04:00"]);
    assert_eq!(c.business_seconds(at("2026-03-28T12:00:00Z"), at("2026-03-29T12:00:00Z")), 2 * HOUR);
    // A start inside the jump (02:30 does not exist) starts at the jump, 03:00 CEST = 01:00 UTC.
    let c = sundays(&["02:30-05:00"]);
    assert_eq!(c.add_business_seconds(at("2026-03-28T12:00:00Z"), 60), Some(at("2026-03-29T01:01:00Z")));
    assert_eq!(c.business_seconds(at("2026-03-28T12:00:00Z"), at("2026-03-29T12:00:00Z")), 2 * HOUR);
    // 25 October: 03:00 CEST falls back to 02:00 CET. 01:00 CEST = 23:00 UTC the day before,
    // 04:00 CET = 03:00 UTC: four hours.
    let c = sundays(&["01:00-04:00"]);
    assert_eq!(c.business_seconds(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z")), 4 * HOUR);
    assert_eq!(c.add_business_seconds(at("2026-10-24T12:00:00Z"), 4 * HOUR), Some(at("2026-10-25T03:00:00Z")));
    // A wall time that happens twice (02:30) is taken the first time, in summer time (00:30 UTC).
    let c = sundays(&["02:30-03:30"]);
    assert_eq!(c.add_business_seconds(at("2026-10-24T12:00:00Z"), 0), Some(at("2026-10-24T12:00:00Z")));
    assert_eq!(c.add_business_seconds(at("2026-10-24T12:00:00Z"), 1), Some(at("2026-10-25T00:30:01Z")));
    // 02:30 CEST (00:30 UTC) to 03:30 CET (02:30 UTC).
    assert_eq!(c.business_seconds(at("2026-10-24T12:00:00Z"), at("2026-10-25T12:00:00Z")), 2 * HOUR);
}

#[test]
fn adding_and_counting_agree_everywhere_in_a_year_with_both_changes() {
    let c = calendar(
        "Europe/Berlin",
        &[("monday", &["08:00-12:00", "13:00-17:00"]), ("wednesday", &["00:00-24:00"]), ("sunday", &["01:00-04:00", "22:00-24:00"])],
        &["2026-05-01", "2026-12-25"],
    );
    let start = at("2026-01-01T00:00:00Z");
    // A fixed pseudo-random walk over the year (no dependency on a random source).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..400 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let from = start + Duration::seconds((x % (365 * 86_400)) as i64);
        let secs = ((x >> 20) % (60 * HOUR as u64)) as i64 + 1;
        let due = c.add_business_seconds(from, secs).unwrap();
        assert_eq!(c.business_seconds(from, due), secs, "from {from} + {secs}s = {due}");
        // Due is the first such instant: a second earlier, a second is still missing.
        assert_eq!(c.business_seconds(from, due - Duration::seconds(1)), secs - 1, "from {from} + {secs}s = {due}");
    }
}

#[test]
fn edges_empty_spans_no_working_time_and_round_the_clock() {
    let c = calendar("UTC", WEEKDAYS_9_TO_5, &[]);
    let t = at("2026-12-07T10:00:00Z");
    assert_eq!(c.business_seconds(t, t), 0);
    assert_eq!(c.business_seconds(t, t - Duration::hours(1)), 0);
    assert_eq!(c.add_business_seconds(t, 0), Some(t));
    let none = calendar("UTC", &[], &[]);
    assert_eq!(none.add_business_seconds(t, 1), None);
    assert_eq!(none.business_seconds(t, t + Duration::days(30)), 0);
    let always = Calendar::always();
    assert_eq!(always.business_seconds(t, t + Duration::days(3)), 3 * 86_400);
    assert_eq!(always.add_business_seconds(t, 5 * HOUR), Some(t + Duration::hours(5)));
    // 24:00 is the end of the day: Monday 22:00–24:00 then Tuesday from midnight.
    let late = calendar("UTC", &[("monday", &["22:00-24:00"]), ("tuesday", &["00:00-01:00"])], &[]);
    assert_eq!(late.business_seconds(at("2026-12-07T21:00:00Z"), at("2026-12-08T05:00:00Z")), 3 * HOUR);
}

#[test]
fn a_wrong_calendar_names_every_field_that_is_wrong() {
    let input = CalendarInput {
        time_zone: "Mars/Olympus".into(),
        week: [
            ("monday".to_string(), vec!["09:00-12:00".to_string(), "11:00-13:00".to_string()]),
            ("tuesday".to_string(), vec!["9-17".to_string(), "17:00-09:00".to_string(), "25:00-26:00".to_string()]),
            ("caturday".to_string(), vec![]),
        ]
        .into_iter()
        .collect(),
        holidays: vec!["2026-02-30".into()],
    };
    let errs = input.validate().unwrap_err();
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["time_zone", "week.caturday", "week.monday", "week.tuesday[0]", "week.tuesday[1]", "week.tuesday[2]", "holidays[0]"]
    );
    let message = |f: &str| errs.0.iter().find(|e| e.field == f).unwrap().message.clone();
    assert_eq!(message("week.monday"), "periods 09:00-12:00 and 11:00-13:00 overlap");
    assert_eq!(message("week.tuesday[1]"), "'17:00-09:00' ends before it starts");
    assert_eq!(message("time_zone"), "'Mars/Olympus' is not an IANA time zone such as Europe/Berlin");
}

use super::*;
use crate::customer::Address;

#[test]
fn whitespace_is_trimmed_and_collapsed() {
    assert_eq!(collapse_whitespace("  Ann \t  Lee\n"), "Ann Lee");
    assert_eq!(collapse_whitespace("Ann\u{a0}\u{a0}Lee"), "Ann Lee");
    assert_eq!(collapse_whitespace("   "), "");
}

#[test]
fn capitals_become_the_case_people_write() {
    assert_eq!(name_case("JOHN SMITH").as_deref(), Some("John Smith"));
    assert_eq!(name_case("JOHN O'BRIEN").as_deref(), Some("John O'Brien"));
    assert_eq!(name_case("MARIE-CLAIRE VAN DER BERG").as_deref(), Some("Marie-Claire van der Berg"));
    assert_eq!(name_case("RONALD MCDONALD").as_deref(), Some("Ronald McDonald"));
    assert_eq!(name_case("DE LA CRUZ").as_deref(), Some("De la Cruz"));
    assert_eq!(name_case("ZOË ÅSTRÖM").as_deref(), Some("Zoë Åström"));
    assert_eq!(name_case("MC").as_deref(), Some("Mc"));
}

#[test]
fn names_with_chosen_case_are_left_alone() {
    assert_eq!(name_case("danah boyd"), None);
    assert_eq!(name_case("DeShawn Jones"), None);
    assert_eq!(name_case("J"), None);
    assert_eq!(name_case("=SUM(A1)"), None, "a formula is no name");
    assert_eq!(name_case("JOHN SMITH 3RD").as_deref(), Some("John Smith 3rd"));
    assert_eq!(name_case("J. R. TOLKIEN").as_deref(), Some("J. R. Tolkien"));
}

#[test]
fn countries_are_read_from_names_aliases_and_codes() {
    for (typed, code) in [
        ("Germany", "DE"),
        ("  germany ", "DE"),
        ("Deutschland", "DE"),
        ("DEU", "DE"),
        ("de", "DE"),
        ("United States", "US"),
        ("the United States of America", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("England", "GB"),
        ("España", "ES"),
        ("Côte d'Ivoire", "CI"),
        ("Russia", "RU"),
        ("Netherlands", "NL"),
        ("Türkiye", "TR"),
        ("France", "FR"),
        ("Japan", "JP"),
    ] {
        assert_eq!(country_code(typed), Some(code), "{typed}");
    }
    assert_eq!(country_code("Atlantis"), None);
    assert_eq!(country_code("276"), None);
    assert_eq!(country_code(""), None);
}

#[test]
fn phones_are_read_in_the_persons_country() {
    let de = phone_region(Some("Germany"), Region::US);
    assert_eq!(clean_phone("030 901820", de).unwrap(), "+4930901820");
    assert_eq!(phone_region(None, Region::US), Region::US);
    assert_eq!(phone_region(Some("Atlantis"), Region::US), Region::US);
    assert!(clean_phone("not a number", Region::US).is_err());
}

fn person(name: &str) -> CustomerData {
    CustomerData { name: name.into(), ..Default::default() }
}

#[test]
fn a_messy_person_gets_every_change_and_every_problem() {
    let mut p = person("  ANNA   VAN DER  BERG ");
    p.email = Some("Anna@Example.COM".into());
    p.additional_emails = vec!["anna@example.org".into(), "not-an-address".into()];
    p.phone = Some("0151 23456789".into());
    p.additional_phones = vec!["+4915123456789".into()];
    p.address = Address {
        street: Some(" Hauptstraße   5".into()),
        city: Some("Berlin".into()),
        region: None,
        postal_code: Some("10115".into()),
        country: Some("Deutschland".into()),
    };
    let f = clean_customer(&p, Region::US);
    let changes: Vec<(&str, &str)> = f.changes.iter().map(|c| (c.field.as_str(), c.after.as_str())).collect();
    assert_eq!(
        changes,
        vec![
            ("name", "Anna van der Berg"),
            ("email", "anna@example.com"),
            ("address.street", "Hauptstraße 5"),
            ("address.country", "DE"),
            ("phone", "+4915123456789"),
        ]
    );
    assert_eq!(f.problems.len(), 1);
    assert_eq!(f.problems[0].field, "additional_emails[1]");
    assert_eq!(f.after("address.country", "Deutschland"), "DE");
    assert_eq!(f.after("address.city", "Berlin"), "Berlin");
}

#[test]
fn a_clean_person_has_nothing_to_change() {
    let mut p = person("Anna van der Berg");
    p.email = Some("anna@example.com".into());
    p.phone = Some("+4915123456789".into());
    p.address.country = Some("DE".into());
    assert_eq!(clean_customer(&p, Region::US), Findings::default());
}

#[test]
fn an_unknown_country_is_a_problem_not_a_change() {
    let mut p = person("Ann");
    p.address.country = Some("Atlantis".into());
    let f = clean_customer(&p, Region::US);
    assert!(f.changes.is_empty());
    assert_eq!(f.problems[0].field, "address.country");
    assert!(f.problems[0].message.contains("Atlantis"));
}

#[test]
fn an_imported_row_is_cleansed_by_the_same_rules() {
    let mut row = serde_json::json!({
        "name": "  JOHN   O'BRIEN ",
        "email": "John@Example.COM",
        "phone": "(415) 555-0100",
        "additional_emails": ["a@B.COM", "not an email"],
        "address": {"city": " San  Francisco", "country": "united states"},
        "notes": "two\nlines",
    });
    let data = row.as_object_mut().unwrap();
    let changes = clean_row(&crate::customer::SPEC, data, Region::parse("GB").unwrap());
    let got: Vec<(&str, &str, &str)> = changes.iter().map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str())).collect();
    assert_eq!(
        got,
        [
            ("address.country", "united states", "US"),
            ("name", "  JOHN   O'BRIEN ", "John O'Brien"),
            ("email", "John@Example.COM", "john@example.com"),
            ("additional_emails[0]", "a@B.COM", "a@b.com"),
            ("phone", "(415) 555-0100", "+14155550100"),
            ("address.city", " San  Francisco", "San Francisco"),
        ]
    );
    assert_eq!(data["name"], "John O'Brien");
    assert_eq!(data["address"]["country"], "US");
    assert_eq!(data["additional_emails"][1], "not an email", "what cannot be cleansed stays for validation to refuse");
    assert_eq!(data["notes"], "two\nlines", "long text keeps its lines");
    let again = clean_row(&crate::customer::SPEC, data, Region::parse("GB").unwrap());
    assert!(again.is_empty(), "a cleansed row has nothing left to change: {again:?}");
}

#[test]
fn a_company_name_in_capitals_keeps_its_case() {
    let mut row = serde_json::json!({"name": " ACME  GMBH "});
    let data = row.as_object_mut().unwrap();
    clean_row(&crate::company::SPEC, data, Region::US);
    assert_eq!(data["name"], "ACME GMBH");
}

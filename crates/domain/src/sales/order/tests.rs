//! The order rules: statuses and actions, totals and their rounding, line validation, and
//! what may change after a draft.
use super::*;
use OrderAction::*;
use OrderStatus::*;

const NOW: &str = "2026-03-10T12:00:00.000000Z";

fn products(id: i64) -> Option<ProductFacts> {
    let p = |sku: &str, price, currency: &str, active| ProductFacts {
        sku: sku.into(),
        name: format!("Product {sku}"),
        unit_price_minor: price,
        currency: currency.into(),
        active,
    };
    match id {
        1 => Some(p("WIDGET", 1999, "USD", true)),
        2 => Some(p("GADGET", 500, "USD", true)),
        3 => Some(p("OLD", 100, "USD", false)),
        4 => Some(p("EURO", 1000, "EUR", true)),
        5 => Some(p("FREE", 0, "USD", true)),
        _ => None,
    }
}

fn ctx() -> OrderContext<'static> {
    OrderContext { product: &products, now: NOW }
}

fn input(json: &str) -> OrderInput {
    serde_json::from_str(json).unwrap()
}

fn create(json: &str) -> OrderData {
    input(json).apply(None, &ctx()).unwrap_or_else(|e| panic!("{json}: {e}"))
}

fn fields(r: Rejected) -> Vec<String> {
    match r {
        Rejected::Invalid(e) => e.0.into_iter().map(|e| e.field).collect(),
        Rejected::Refused(r) => panic!("expected field errors, got refusal {r}"),
    }
}

fn refusal(r: Rejected) -> Refused {
    match r {
        Rejected::Refused(r) => r,
        Rejected::Invalid(e) => panic!("expected a refusal, got {e}"),
    }
}

fn line(quantity: i64, unit_price_minor: i64, discount_bp: i64, discount_minor: i64) -> OrderLine {
    OrderLine { product_id: 1, sku: "W".into(), name: "W".into(), quantity, unit_price_minor, discount_bp, discount_minor }
}

#[test]
fn every_status_and_action() {
    let table: [(OrderStatus, OrderAction, Result<OrderStatus, &str>); 20] = [
        (Draft, Confirm, Ok(Confirmed)),
        (Draft, Pay, Err("a draft order must be confirmed before it is paid")),
        (Draft, Ship, Err("a draft order must be confirmed and paid before it ships")),
        (Draft, Cancel, Ok(Cancelled)),
        (Confirmed, Confirm, Err("the order is already confirmed")),
        (Confirmed, Pay, Ok(Paid)),
        (Confirmed, Ship, Err("a confirmed order must be paid before it ships")),
        (Confirmed, Cancel, Ok(Cancelled)),
        (Paid, Confirm, Err("the order is already confirmed")),
        (Paid, Pay, Err("the order is already paid")),
        (Paid, Ship, Ok(Shipped)),
        (Paid, Cancel, Err("a paid order is a purchase and cannot be cancelled")),
        (Shipped, Confirm, Err("a shipped order is final")),
        (Shipped, Pay, Err("a shipped order is final")),
        (Shipped, Ship, Err("a shipped order is final")),
        (Shipped, Cancel, Err("a shipped order is final")),
        (Cancelled, Confirm, Err("a cancelled order is final")),
        (Cancelled, Pay, Err("a cancelled order is final")),
        (Cancelled, Ship, Err("a cancelled order is final")),
        (Cancelled, Cancel, Err("a cancelled order is final")),
    ];
    assert_eq!(table.len(), OrderStatus::ALL.len() * OrderAction::ALL.len());
    for (state, action, want) in table {
        match (state.transition(action), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{state:?} {action:?}"),
            (Err(r), Err(reason)) => {
                assert_eq!((r.reason.as_str(), r.action, r.state), (reason, action.as_str(), state.as_str()));
                assert_eq!((r.allowed.clone(), r.field), (state.allowed_actions(), Some("status")));
            }
            (got, want) => panic!("{state:?} {action:?}: got {got:?}, want {want:?}"),
        }
    }
    assert_eq!(Paid.transition(Cancel).unwrap_err().to_string(), "a paid order is a purchase and cannot be cancelled: allowed now: ship");
    // Every allowed action is one the table accepts, and nothing else is.
    for s in OrderStatus::ALL {
        let ok: Vec<&str> = OrderAction::ALL.into_iter().filter(|a| s.transition(*a).is_ok()).map(|a| a.as_str()).collect();
        assert_eq!(ok, s.allowed_actions(), "{s:?}");
    }
}

#[test]
fn status_properties() {
    let purchase: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.is_purchase()).collect();
    assert_eq!(purchase, [Paid, Shipped]);
    let editable: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.lines_editable()).collect();
    assert_eq!(editable, [Draft]);
    let fin: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.is_final()).collect();
    assert_eq!(fin, [Shipped, Cancelled]);
    for s in OrderStatus::ALL {
        assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    for a in OrderAction::ALL {
        assert_eq!(OrderAction::leading_to(a.target()), Some(a));
    }
    assert_eq!(OrderAction::leading_to(Draft), None);
}

#[test]
fn totals_round_discounts_per_line_and_tax_per_order() {
    // 3 × 19.99 = 59.97; 10 % off = 5.997 → 6.00; net 53.97.
    // 1 × 5.00 with 0.25 off; net 4.75. Net sum 58.72; 8.25 % tax = 4.8444 → 4.84.
    let t = compute_totals(&[line(3, 1999, 1000, 0), line(1, 500, 0, 25)], 825).unwrap();
    assert_eq!(
        t.lines,
        [
            LineTotals { gross_minor: 5997, discount_minor: 600, net_minor: 5397 },
            LineTotals { gross_minor: 500, discount_minor: 25, net_minor: 475 }
        ]
    );
    assert_eq!((t.subtotal_minor, t.discount_minor, t.net_minor, t.tax_minor, t.total_minor), (6497, 625, 5872, 484, 6356));
    assert_eq!(compute_totals(&[], 2000).unwrap(), OrderTotals::default());
}

#[test]
fn half_minor_units_round_away_from_zero() {
    // 10 % of 5 is 0.5 → 1; 10 % of 4 is 0.4 → 0; 10 % of 15 is 1.5 → 2.
    let d = |gross| compute_totals(&[line(1, gross, 1000, 0)], 0).unwrap().discount_minor;
    assert_eq!((d(5), d(4), d(15), d(25)), (1, 0, 2, 3));
    // Tax on a net of 5 at 10 % is 0.5 → 1; at 9.99 % it is 0.4995 → 0.
    assert_eq!(compute_totals(&[line(1, 5, 0, 0)], 1000).unwrap().tax_minor, 1);
    assert_eq!(compute_totals(&[line(1, 5, 0, 0)], 999).unwrap().tax_minor, 0);
    // Per line, two lines of 5 at 10 % discount lose 1 each (2), where one line of 10 loses 1.
    assert_eq!(compute_totals(&[line(1, 5, 1000, 0), line(1, 5, 1000, 0)], 0).unwrap().discount_minor, 2);
    assert_eq!(compute_totals(&[line(2, 5, 1000, 0)], 0).unwrap().discount_minor, 1);
}

#[test]
fn full_discounts_free_lines_and_huge_amounts() {
    let t = compute_totals(&[line(7, 1234, 10_000, 0)], 2000).unwrap();
    assert_eq!((t.subtotal_minor, t.discount_minor, t.tax_minor, t.total_minor), (8638, 8638, 0, 0), "100 % off");
    let t = compute_totals(&[line(2, 300, 0, 600)], 2000).unwrap();
    assert_eq!(t.total_minor, 0, "a fixed discount may take the whole line");
    assert_eq!(compute_totals(&[line(1_000_000, 0, 0, 0)], 2000).unwrap().total_minor, 0);
    assert_eq!(compute_totals(&[line(1, MAX_MINOR, 0, 0)], 0).unwrap().total_minor, MAX_MINOR);

    let e = compute_totals(&[line(i64::MAX, i64::MAX, 0, 0)], 0).unwrap_err();
    assert_eq!(e.0[0].field, "lines.0.quantity", "i64::MAX × i64::MAX is an error, not an overflow");
    let e = compute_totals(&[line(1, 5, 0, 6)], 0).unwrap_err();
    assert_eq!(e.0[0].field, "lines.0.discount_minor");
    let e = compute_totals(&[line(1, MAX_MINOR, 0, 0), line(1, 1, 0, 0)], 0).unwrap_err();
    assert_eq!(e.0[0].field, "lines", "each line fits, their sum does not");
    let e = compute_totals(&[line(1, MAX_MINOR, 0, 0)], 1).unwrap_err();
    assert_eq!(e.0[0].field, "lines", "the tax pushes the total over");
    let t = compute_totals(&[line(1, MAX_MINOR, 0, 0)], 10_000);
    assert!(t.is_err());
}

#[test]
fn a_new_order_defaults_prices_date_and_currency() {
    let d = create(
        r#"{"customer_id":7,"lines":[{"product_id":1,"quantity":3},{"product_id":2,"unit_price_minor":450,"discount_bp":500}],"tax_rate_bp":2000}"#,
    );
    assert_eq!((d.customer_id, d.status, d.currency.as_str(), d.order_date.as_deref()), (Some(7), Draft, "USD", Some("2026-03-10")));
    assert_eq!(
        d.lines[0],
        OrderLine {
            product_id: 1,
            sku: "WIDGET".into(),
            name: "Product WIDGET".into(),
            quantity: 3,
            unit_price_minor: 1999,
            discount_bp: 0,
            discount_minor: 0
        }
    );
    assert_eq!(
        (d.lines[1].unit_price_minor, d.lines[1].discount_bp, d.lines[1].quantity),
        (450, 500, 1),
        "a given price wins; quantity defaults to 1"
    );
    let t = d.totals().unwrap();
    assert_eq!((t.subtotal_minor, t.discount_minor, t.tax_minor, t.total_minor), (6447, 23, 1285, 7709));
    let d = create(r#"{"customer_id":7,"currency":"eur","order_date":"2026-01-31","notes":"Rush"}"#);
    assert_eq!(
        (d.currency.as_str(), d.order_date.as_deref(), d.notes.as_deref(), d.lines.len()),
        ("EUR", Some("2026-01-31"), Some("Rush"), 0)
    );
}

#[test]
fn bad_orders_name_every_field() {
    let e = input(
        r#"{"lines":[{"product_id":3},{"product_id":99},{"quantity":2},{"product_id":1,"quantity":0},{"product_id":1,"quantity":-2,"unit_price_minor":-1},
            {"product_id":1,"discount_bp":10001},{"product_id":1,"discount_bp":100,"discount_minor":5},{"product_id":1,"discount_minor":-1},
            {"product_id":1,"quantity":2,"unit_price_minor":5,"discount_minor":11},{"product_id":1,"quantity":9007199254740991}],
           "tax_rate_bp":-1,"order_date":"31/01/2026","notes":""}"#,
    )
    .apply(None, &ctx())
    .unwrap_err();
    assert_eq!(
        fields(e),
        [
            "customer_id",
            "order_date",
            "tax_rate_bp",
            "lines.0.product_id",
            "lines.1.product_id",
            "lines.2.product_id",
            "lines.3.quantity",
            "lines.4.quantity",
            "lines.4.unit_price_minor",
            "lines.5.discount_bp",
            "lines.6.discount_minor",
            "lines.7.discount_minor",
            "lines.8.discount_minor",
            "lines.9.quantity"
        ]
    );
    assert_eq!(fields(input(r#"{"customer_id":1}"#).apply(None, &ctx()).unwrap_err()), ["currency"]);
    assert_eq!(
        fields(input(r#"{"customer_id":1,"currency":"XYZ","lines":[{"product_id":1}]}"#).apply(None, &ctx()).unwrap_err()),
        ["currency"]
    );
    let many: Vec<&str> = vec![r#"{"product_id":5}"#; MAX_LINES + 1];
    let e = input(&format!(r#"{{"customer_id":1,"lines":[{}]}}"#, many.join(","))).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lines"]);
    let e =
        input(r#"{"customer_id":1,"lines":[{"product_id":1,"unit_price_minor":9007199254740991},{"product_id":1,"unit_price_minor":1}]}"#)
            .apply(None, &ctx())
            .unwrap_err();
    assert_eq!(fields(e), ["lines"], "the order total is too large");
    assert!(serde_json::from_str::<OrderInput>(r#"{"lines":[{"product_id":1,"price":3}]}"#).is_err(), "unknown line fields are refused");
}

#[test]
fn one_currency_per_order() {
    let e = input(r#"{"customer_id":1,"lines":[{"product_id":1},{"product_id":4}]}"#).apply(None, &ctx()).unwrap_err();
    let Rejected::Invalid(errs) = e else { panic!() };
    assert_eq!(errs.0.len(), 1);
    assert_eq!(errs.0[0].field, "lines.1.product_id");
    assert_eq!(errs.0[0].message, "product EURO is priced in EUR, but this order is in USD: an order has one currency");
    let e = input(r#"{"customer_id":1,"currency":"EUR","lines":[{"product_id":4},{"product_id":2}]}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lines.1.product_id"]);
    let e = input(r#"{"customer_id":1,"lines":[{"product_id":99},{"product_id":4},{"product_id":1}]}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lines.0.product_id", "lines.2.product_id"], "the first known product sets the currency");

    let d = create(r#"{"customer_id":1,"lines":[{"product_id":1}]}"#);
    let e = input(r#"{"currency":"EUR"}"#).apply(Some(&d), &ctx()).unwrap_err();
    assert_eq!(fields(e), ["currency"], "changing the currency needs the lines again");
    let e = input(r#"{"currency":"EUR","lines":[{"product_id":1}]}"#).apply(Some(&d), &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lines.0.product_id"]);
    let d2 = input(r#"{"currency":"EUR","lines":[{"product_id":4,"quantity":2}]}"#).apply(Some(&d), &ctx()).unwrap();
    assert_eq!((d2.currency.as_str(), d2.lines[0].sku.as_str()), ("EUR", "EURO"));
    let empty = create(r#"{"customer_id":1,"currency":"USD"}"#);
    assert_eq!(input(r#"{"currency":"JPY"}"#).apply(Some(&empty), &ctx()).unwrap().currency, "JPY", "no lines, no problem");
}

#[test]
fn drafts_are_edited_and_later_orders_refuse_edits_of_their_terms() {
    let draft = create(r#"{"customer_id":1,"lines":[{"product_id":1,"quantity":2}],"tax_rate_bp":1000}"#);
    let edited = input(r#"{"lines":[{"product_id":2,"quantity":5}],"tax_rate_bp":0,"customer_id":2,"order_date":"2026-03-01"}"#)
        .apply(Some(&draft), &ctx())
        .unwrap();
    assert_eq!(
        (edited.lines[0].product_id, edited.tax_rate_bp, edited.customer_id, edited.order_date.as_deref()),
        (2, 0, Some(2), Some("2026-03-01"))
    );

    let confirmed = input(r#"{"status":"confirmed"}"#).apply(Some(&draft), &ctx()).unwrap();
    assert_eq!((confirmed.status, confirmed.confirmed_at.as_deref()), (Confirmed, Some(NOW)));
    for (json, field) in [
        (r#"{"lines":[{"product_id":1,"quantity":3}]}"#, "lines"),
        (r#"{"lines":[]}"#, "lines"),
        (r#"{"lines":[{"product_id":1,"quantity":2}]}"#, "lines"),
        (r#"{"currency":"EUR"}"#, "currency"),
        (r#"{"currency":"nope"}"#, "currency"),
        (r#"{"tax_rate_bp":0}"#, "tax_rate_bp"),
        (r#"{"customer_id":9}"#, "customer_id"),
        (r#"{"order_date":"2026-01-01"}"#, "order_date"),
        (r#"{"order_date":"2026-01-01","lines":[],"status":"paid"}"#, "lines"),
    ] {
        let r = refusal(input(json).apply(Some(&confirmed), &ctx()).unwrap_err());
        assert_eq!((r.field, r.action, r.allowed.clone()), (Some(field), "edit", vec!["pay", "cancel"]), "{json}");
    }
    let r = refusal(input(r#"{"lines":[],"currency":"EUR"}"#).apply(Some(&confirmed), &ctx()).unwrap_err());
    assert_eq!(r.to_string(), "the lines, currency of a confirmed order cannot change, only a draft's can: allowed now: pay, cancel");

    // Restating the same terms (a form sending everything back) is not an edit.
    let same = input(
        r#"{"lines":[{"product_id":1,"quantity":2,"unit_price_minor":1999,"discount_bp":0}],"currency":"usd","tax_rate_bp":1000,"customer_id":1,"order_date":"2026-03-10","notes":"Gift wrap","owner_id":4,"campaign_id":5,"opportunity_id":6}"#,
    )
    .apply(Some(&confirmed), &ctx())
    .unwrap();
    assert_eq!(
        (same.notes.as_deref(), same.owner_id, same.campaign_id, same.opportunity_id),
        (Some("Gift wrap"), Some(4), Some(5), Some(6))
    );
    assert_eq!(same.lines, confirmed.lines);
    // Restated lines of a confirmed order are not re-validated, so a product deactivated
    // since does not block editing the notes.
    let gone = OrderContext { product: &|_| None, now: NOW };
    let same = input(r#"{"lines":[{"product_id":1,"quantity":2,"unit_price_minor":1999}],"notes":"x"}"#).apply(Some(&confirmed), &gone);
    assert_eq!(same.unwrap().notes.as_deref(), Some("x"));
}

#[test]
fn status_moves_one_step_at_a_time_and_stamps_its_time() {
    let draft = create(r#"{"customer_id":1,"lines":[{"product_id":1}]}"#);
    let at = |json: &str, d: &OrderData, now: &str| input(json).apply(Some(d), &OrderContext { product: &products, now });
    let confirmed = at(r#"{"status":"confirmed"}"#, &draft, "2026-03-11T00:00:00Z").unwrap();
    let paid = at(r#"{"status":"paid"}"#, &confirmed, "2026-03-12T00:00:00Z").unwrap();
    let shipped = at(r#"{"status":"shipped"}"#, &paid, "2026-03-13T00:00:00Z").unwrap();
    assert_eq!(
        (shipped.status, shipped.confirmed_at.as_deref(), shipped.paid_at.as_deref(), shipped.shipped_at.as_deref()),
        (Shipped, Some("2026-03-11T00:00:00Z"), Some("2026-03-12T00:00:00Z"), Some("2026-03-13T00:00:00Z"))
    );
    assert_eq!(at(r#"{"status":"paid"}"#, &paid, NOW).unwrap(), paid, "sending the current status is no move");

    let r = refusal(at(r#"{"status":"paid"}"#, &draft, NOW).unwrap_err());
    assert_eq!((r.action, r.allowed.clone(), r.field), ("pay", vec!["confirm", "cancel"], Some("status")));
    let r = refusal(at(r#"{"status":"cancelled"}"#, &paid, NOW).unwrap_err());
    assert_eq!(r.allowed, ["ship"]);
    let r = refusal(at(r#"{"status":"draft"}"#, &confirmed, NOW).unwrap_err());
    assert_eq!(r.to_string(), "an order cannot return to draft: allowed now: pay, cancel");
    let r = refusal(at(r#"{"status":"confirmed"}"#, &shipped, NOW).unwrap_err());
    assert_eq!(r.allowed, Vec::<&str>::new());
    let e = at(r#"{"status":"paid","notes":"x"}"#, &draft, NOW);
    assert!(e.unwrap_err().refused().is_some());
    let e = at(r#"{"status":"paid","tax_rate_bp":20000}"#, &draft, NOW).unwrap_err();
    assert_eq!(fields(e), ["tax_rate_bp"], "field errors come before a refused move");

    let cancelled = at(r#"{"status":"cancelled"}"#, &confirmed, NOW).unwrap();
    assert_eq!((cancelled.status, cancelled.cancelled_at.as_deref()), (Cancelled, Some(NOW)));
    let empty = create(r#"{"customer_id":1,"currency":"USD"}"#);
    assert_eq!(fields(at(r#"{"status":"confirmed"}"#, &empty, NOW).unwrap_err()), ["lines"]);
    assert_eq!(at(r#"{"status":"cancelled"}"#, &empty, NOW).unwrap().status, Cancelled, "an empty draft can be dropped");
    let filled = at(r#"{"status":"confirmed","lines":[{"product_id":2}]}"#, &empty, NOW).unwrap();
    assert_eq!((filled.status, filled.lines.len()), (Confirmed, 1), "lines and confirmation in one request");
}

#[test]
fn perform_takes_one_action() {
    let draft = create(r#"{"customer_id":1,"lines":[{"product_id":1}]}"#);
    let c = draft.perform(Confirm, NOW).unwrap();
    assert_eq!((c.status, c.confirmed_at.as_deref()), (Confirmed, Some(NOW)));
    assert!(c.perform(Confirm, NOW).unwrap_err().refused().is_some());
    let empty = create(r#"{"customer_id":1,"currency":"USD"}"#);
    assert_eq!(empty.perform(Confirm, NOW).unwrap_err().invalid().unwrap().0[0].field, "lines");
    assert_eq!(empty.perform(Cancel, NOW).unwrap().status, Cancelled);
}

#[test]
fn imported_orders_start_in_their_status_stamped_with_their_date() {
    let d = create(r#"{"customer_id":1,"order_date":"2024-11-05","status":"shipped","lines":[{"product_id":1}]}"#);
    let day = Some("2024-11-05T00:00:00.000000Z");
    assert_eq!(
        (d.status, d.confirmed_at.as_deref(), d.paid_at.as_deref(), d.shipped_at.as_deref(), d.cancelled_at.as_deref()),
        (Shipped, day, day, day, None)
    );
    let d = create(r#"{"customer_id":1,"order_date":"2024-11-05","status":"cancelled","currency":"USD"}"#);
    assert_eq!((d.cancelled_at.as_deref(), d.confirmed_at.as_deref()), (day, None));
    assert_eq!(fields(input(r#"{"customer_id":1,"status":"paid","currency":"USD"}"#).apply(None, &ctx()).unwrap_err()), ["lines"]);
    let e = input(r#"{"customer_id":1,"status":"paid","lines":[{"product_id":3}]}"#).apply(None, &ctx()).unwrap_err();
    assert_eq!(fields(e), ["lines.0.product_id"], "no second error about missing lines");
}

#[test]
fn tombstones_and_json() {
    let data = create(r#"{"customer_id":1,"lines":[{"product_id":1}]}"#);
    let totals = data.totals().unwrap();
    let o = Order {
        id: 3,
        data,
        totals,
        customer_name: Some("Ann".into()),
        company_name: None,
        opportunity_name: None,
        created_at: NOW.into(),
        updated_at: NOW.into(),
        deleted_at: None,
        version: 1,
    };
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(
        (json["status"].as_str(), json["totals"]["total_minor"].as_i64(), json["lines"][0]["sku"].as_str()),
        (Some("draft"), Some(1999), Some("WIDGET"))
    );
    let t = o.tombstone();
    assert_eq!((t.data, t.totals, t.id, t.customer_name), (OrderData::default(), OrderTotals::default(), 3, None));
}

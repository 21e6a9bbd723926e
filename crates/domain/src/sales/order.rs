//! Orders: what a customer bought, line by line — Rapport's one source of purchase history.
//!
//! An order is in one currency; each line is a product, a whole quantity of at least 1, a unit
//! price (the product's price unless the line names another) and a discount. Totals are
//! computed here in integer minor units ([`compute_totals`]):
//!
//! - line amount = quantity × unit price (exact);
//! - line discount = either `discount_bp` basis points of the line amount, rounded half away
//!   from zero to a whole minor unit **per line**, or a fixed `discount_minor` off the line
//!   (not per unit), never more than the line amount — one or the other, not both;
//! - line net = line amount − line discount;
//! - tax = `tax_rate_bp` basis points of the sum of the line nets, rounded half away from zero
//!   **once per order** (one rate per order, so rounding per line would only add error);
//!   prices are net of tax;
//! - total = sum of line nets + tax.
//!
//! Every amount must stay within [`MAX_MINOR`]; a line or order too large for it is a field
//! error, never an overflow.
//!
//! Status: `draft → confirmed → paid → shipped`, and `cancelled` from draft or confirmed. A paid
//! order cannot be cancelled: it is purchase history (analytics and targets count it), and
//! taking money back is a refund, a record of its own, not an erased sale. Lines, currency, tax
//! rate, customer and order date change only while the order is a draft; notes, owner and the
//! opportunity and campaign links stay editable.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::money::{Currency, MAX_MINOR, check_amount, div_round_half_away};
use super::product::ProductFacts;
use super::{Refused, Rejected, parse_day};
use crate::customer::apply_text;
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::{ValidationErrors, double_option};

/// Orders as a record type: owned (visible as people are), named by their day. `lines` and the
/// status times are the domain's to write (through [`OrderInput::apply`] and
/// [`OrderData::perform`]); `totals` and `total_minor` are computed from the lines when the
/// order is written, so lists filter and sort by the total without recomputing it.
pub static SPEC: RecordSpec = RecordSpec {
    name: "order",
    plural: "orders",
    label: "order",
    label_plural: "orders",
    object: Object::Order,
    title: "order_date",
    owned: true,
    custom: None,
    fields: &[
        Field::new("order_date", "Date", Kind::Date).filtered().sorted(),
        Field::new("customer_id", "Customer", Kind::Ref("customers")).filtered().shown_as("customer_name"),
        Field::new("company_id", "Company", Kind::Ref("companies")).filtered().shown_as("company_name"),
        Field::new("status", "Status", Kind::Choice(&["draft", "confirmed", "paid", "shipped", "cancelled"])).filtered(),
        Field::new("currency", "Currency", Kind::Text).filtered(),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
        Field::new("opportunity_id", "Opportunity", Kind::Ref("opportunities")).filtered().shown_as("opportunity_name"),
        Field::new("campaign_id", "Campaign", Kind::Int).filtered(),
        Field::new("tax_rate_bp", "Tax rate (basis points)", Kind::Int),
        Field::new("lines", "Lines", Kind::Json),
        Field::new("notes", "Notes", Kind::LongText),
        Field::new("confirmed_at", "Confirmed", Kind::Time).filtered().sorted(),
        Field::new("paid_at", "Paid", Kind::Time).filtered().sorted(),
        Field::new("shipped_at", "Shipped", Kind::Time).filtered(),
        Field::new("cancelled_at", "Cancelled", Kind::Time).filtered(),
        Field::new("totals", "Totals", Kind::Json).read_only(),
        Field::new("totals.total_minor", "Total", Kind::Money).read_only().filtered().sorted().key("total_minor"),
    ],
};

/// Where an order stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Being put together; lines can change.
    #[default]
    Draft,
    /// Agreed with the customer.
    Confirmed,
    /// Paid for.
    Paid,
    /// Delivered.
    Shipped,
    /// Called off before payment.
    Cancelled,
}

/// What can be done to an order's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Draft → confirmed (needs at least one line).
    Confirm,
    /// Confirmed → paid.
    Pay,
    /// Paid → shipped.
    Ship,
    /// Draft or confirmed → cancelled.
    Cancel,
}

impl OrderAction {
    /// Every action.
    pub const ALL: [OrderAction; 4] = [Self::Confirm, Self::Pay, Self::Ship, Self::Cancel];

    /// Name as sent and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Pay => "pay",
            Self::Ship => "ship",
            Self::Cancel => "cancel",
        }
    }

    /// The status the action leads to.
    pub fn target(self) -> OrderStatus {
        match self {
            Self::Confirm => OrderStatus::Confirmed,
            Self::Pay => OrderStatus::Paid,
            Self::Ship => OrderStatus::Shipped,
            Self::Cancel => OrderStatus::Cancelled,
        }
    }

    /// The action that leads to `status` (none leads back to draft).
    pub fn leading_to(status: OrderStatus) -> Option<OrderAction> {
        Self::ALL.into_iter().find(|a| a.target() == status)
    }
}

impl OrderStatus {
    /// Every status, in order.
    pub const ALL: [OrderStatus; 5] = [Self::Draft, Self::Confirmed, Self::Paid, Self::Shipped, Self::Cancelled];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Confirmed => "confirmed",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the order counts as a purchase (purchase history, RFM, targets on paid orders):
    /// paid and shipped orders. A shipped order was paid first, since shipping follows payment.
    pub fn is_purchase(self) -> bool {
        matches!(self, Self::Paid | Self::Shipped)
    }

    /// Whether lines, currency, tax rate, customer and date may change: only in draft.
    pub fn lines_editable(self) -> bool {
        self == Self::Draft
    }

    /// Whether nothing more can happen (shipped or cancelled).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Shipped | Self::Cancelled)
    }

    /// The actions allowed now.
    pub fn allowed_actions(self) -> Vec<&'static str> {
        match self {
            Self::Draft => vec!["confirm", "cancel"],
            Self::Confirmed => vec!["pay", "cancel"],
            Self::Paid => vec!["ship"],
            Self::Shipped | Self::Cancelled => vec![],
        }
    }

    /// The status after `action`, or the refusal naming what is allowed instead.
    pub fn transition(self, action: OrderAction) -> Result<OrderStatus, Refused> {
        use OrderAction::*;
        use OrderStatus::*;
        let reason = match (self, action) {
            (Draft, Confirm) | (Confirmed, Pay) | (Paid, Ship) | (Draft | Confirmed, Cancel) => return Ok(action.target()),
            (Draft, Pay) => "a draft order must be confirmed before it is paid",
            (Draft, Ship) => "a draft order must be confirmed and paid before it ships",
            (Confirmed | Paid, Confirm) => "the order is already confirmed",
            (Confirmed, Ship) => "a confirmed order must be paid before it ships",
            (Paid, Pay) => "the order is already paid",
            (Paid, Cancel) => "a paid order is a purchase and cannot be cancelled",
            (Shipped, _) => "a shipped order is final",
            (Cancelled, _) => "a cancelled order is final",
        };
        Err(Refused::new("order", action.as_str(), self.as_str(), self.allowed_actions(), reason).on_field("status"))
    }
}

/// One line of an order. `sku` and `name` are copied from the product when the line is
/// written, so the order reads the same after the product is renamed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    /// The product.
    pub product_id: i64,
    /// The product's SKU when the line was written.
    pub sku: String,
    /// The product's name when the line was written.
    pub name: String,
    /// Units, at least 1.
    pub quantity: i64,
    /// Price of one unit in minor units of the order's currency.
    pub unit_price_minor: i64,
    /// Discount in basis points of the line amount (0 to 10,000 = 100 %); 0 when
    /// `discount_minor` is used.
    pub discount_bp: i64,
    /// Fixed discount off the line amount in minor units; 0 when `discount_bp` is used.
    pub discount_minor: i64,
}

/// The computed amounts of one line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineTotals {
    /// Quantity × unit price.
    pub gross_minor: i64,
    /// The line's discount.
    pub discount_minor: i64,
    /// Gross − discount: what the line sells for, before tax.
    pub net_minor: i64,
}

/// The computed amounts of an order, in minor units of its currency (see the module
/// documentation for the rounding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderTotals {
    /// Sum of the line amounts before discounts.
    pub subtotal_minor: i64,
    /// Sum of the line discounts.
    pub discount_minor: i64,
    /// Subtotal − discounts: the taxed amount.
    pub net_minor: i64,
    /// Tax on the net amount.
    pub tax_minor: i64,
    /// Net + tax: what the customer pays.
    pub total_minor: i64,
    /// Each line's amounts, in line order.
    pub lines: Vec<LineTotals>,
}

/// The most lines an order has.
pub const MAX_LINES: usize = 500;

/// The amounts of one line: `Err` names the field when the amount does not fit.
fn line_totals(line: &OrderLine) -> Result<LineTotals, (&'static str, String)> {
    let gross = line.quantity as i128 * line.unit_price_minor as i128;
    if gross > MAX_MINOR as i128 {
        return Err(("quantity", format!("quantity × unit price must be at most {MAX_MINOR} minor units")));
    }
    let discount =
        if line.discount_bp != 0 { div_round_half_away(gross * line.discount_bp as i128, 10_000) } else { line.discount_minor as i128 };
    if discount > gross {
        return Err(("discount_minor", format!("cannot exceed the line amount ({gross} minor units)")));
    }
    Ok(LineTotals { gross_minor: gross as i64, discount_minor: discount as i64, net_minor: (gross - discount) as i64 })
}

/// Computes line and order totals as the module documentation describes. Errors name
/// `lines.N.quantity` / `lines.N.discount_minor` for a line too large or over-discounted, and
/// `lines` for an order whose total is too large.
pub fn compute_totals(lines: &[OrderLine], tax_rate_bp: i64) -> Result<OrderTotals, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let mut out = OrderTotals::default();
    let (mut subtotal, mut discount) = (0_i128, 0_i128);
    for (i, l) in lines.iter().enumerate() {
        match line_totals(l) {
            Ok(t) => {
                subtotal += t.gross_minor as i128;
                discount += t.discount_minor as i128;
                out.lines.push(t);
            }
            Err((field, m)) => errs.add(format!("lines.{i}.{field}"), m),
        }
    }
    let net = subtotal - discount;
    let tax = div_round_half_away(net * tax_rate_bp as i128, 10_000);
    if errs.0.is_empty() && (subtotal > MAX_MINOR as i128 || net + tax > MAX_MINOR as i128) {
        errs.add("lines", format!("the order total must be at most {MAX_MINOR} minor units"));
    }
    if !errs.0.is_empty() {
        return Err(errs);
    }
    out.subtotal_minor = subtotal as i64;
    out.discount_minor = discount as i64;
    out.net_minor = net as i64;
    out.tax_minor = tax as i64;
    out.total_minor = (net + tax) as i64;
    Ok(out)
}

/// An order's editable fields, always valid (built by [`OrderInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderData {
    /// The person who buys; required.
    pub customer_id: Option<i64>,
    /// The company the person buys for.
    pub company_id: Option<i64>,
    /// The opportunity the order closes.
    pub opportunity_id: Option<i64>,
    /// The campaign the order is attributed to.
    pub campaign_id: Option<i64>,
    /// The user responsible (credited in targets).
    pub owner_id: Option<i64>,
    /// Where the order stands (changes only by the status rules).
    pub status: OrderStatus,
    /// ISO 4217 code of every amount on the order.
    pub currency: String,
    /// The day of the order (YYYY-MM-DD); today (UTC) unless given.
    pub order_date: Option<String>,
    /// The lines, in order.
    pub lines: Vec<OrderLine>,
    /// Tax rate in basis points of the net amount (0 to 10,000; 2,000 = 20 %).
    pub tax_rate_bp: i64,
    /// Notes.
    pub notes: Option<String>,
    /// When the order was confirmed (read-only).
    pub confirmed_at: Option<String>,
    /// When the order was paid (read-only): the day a paid-orders target counts it.
    pub paid_at: Option<String>,
    /// When the order shipped (read-only).
    pub shipped_at: Option<String>,
    /// When the order was cancelled (read-only).
    pub cancelled_at: Option<String>,
}

impl OrderData {
    /// The order's totals.
    pub fn totals(&self) -> Result<OrderTotals, ValidationErrors> {
        compute_totals(&self.lines, self.tax_rate_bp)
    }

    /// Takes `action` at time `now`: the status moves by [`OrderStatus::transition`] and its
    /// time is stamped; confirming needs at least one line (error on `lines`).
    pub fn perform(&self, action: OrderAction, now: &str) -> Result<OrderData, Rejected> {
        let status = self.status.transition(action)?;
        if action == OrderAction::Confirm && self.lines.is_empty() {
            return Err(ValidationErrors::single("lines", "an order needs at least one line to be confirmed").into());
        }
        let mut d = self.clone();
        d.status = status;
        d.stamp(status, now);
        Ok(d)
    }

    fn stamp(&mut self, status: OrderStatus, at: &str) {
        let slot = match status {
            OrderStatus::Draft => return,
            OrderStatus::Confirmed => &mut self.confirmed_at,
            OrderStatus::Paid => &mut self.paid_at,
            OrderStatus::Shipped => &mut self.shipped_at,
            OrderStatus::Cancelled => &mut self.cancelled_at,
        };
        *slot = Some(at.to_string());
    }
}

/// An order as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: OrderData,
    /// Computed amounts (read-only).
    pub totals: OrderTotals,
    /// The customer's name, where the reader may see the person (read-only).
    #[serde(default)]
    pub customer_name: Option<String>,
    /// The company's name, where the reader may see the company (read-only).
    #[serde(default)]
    pub company_name: Option<String>,
    /// The opportunity's name, where the reader may see it (read-only).
    #[serde(default)]
    pub opportunity_name: Option<String>,
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

impl Order {
    /// What a sync listing shows of a deleted order: that it is gone, and nothing else.
    pub fn tombstone(self) -> Order {
        Order {
            data: OrderData::default(),
            totals: OrderTotals::default(),
            customer_name: None,
            company_name: None,
            opportunity_name: None,
            ..self
        }
    }
}

/// What validating an order needs from outside.
pub struct OrderContext<'a> {
    /// Looks up a product by id (deleted products are unknown).
    pub product: &'a dyn Fn(i64) -> Option<ProductFacts>,
    /// The current time (RFC 3339 UTC): status times, and today's date for new orders.
    pub now: &'a str,
}

/// One line as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    /// The product; required, active, and priced in the order's currency.
    pub product_id: Option<i64>,
    /// Units, at least 1; 1 when absent.
    pub quantity: Option<i64>,
    /// Unit price in minor units; the product's current price when absent.
    pub unit_price_minor: Option<i64>,
    /// Discount in basis points (0 to 10,000).
    pub discount_bp: Option<i64>,
    /// Fixed discount off the line in minor units (instead of `discount_bp`).
    pub discount_minor: Option<i64>,
}

impl OrderLineInput {
    /// Whether this input restates `line` exactly (a form sending the order back unchanged).
    fn restates(&self, line: &OrderLine) -> bool {
        self.product_id == Some(line.product_id)
            && self.quantity.unwrap_or(1) == line.quantity
            && self.unit_price_minor == Some(line.unit_price_minor)
            && self.discount_bp.unwrap_or(0) == line.discount_bp
            && self.discount_minor.unwrap_or(0) == line.discount_minor
    }

    /// Validates the line against its product and the order's currency (when known).
    fn apply(self, i: usize, currency: Option<&str>, ctx: &OrderContext, errs: &mut ValidationErrors) -> Option<OrderLine> {
        let f = |name: &str| format!("lines.{i}.{name}");
        let before = errs.0.len();
        let product = match self.product_id {
            None => {
                errs.add(f("product_id"), "is required");
                None
            }
            Some(id) => match (ctx.product)(id) {
                None => {
                    errs.add(f("product_id"), format!("there is no product {id}"));
                    None
                }
                Some(p) if !p.active => {
                    errs.add(f("product_id"), format!("product {} is inactive and cannot be ordered", p.sku));
                    None
                }
                Some(p) if currency.is_some_and(|c| c != p.currency) => {
                    errs.add(
                        f("product_id"),
                        format!(
                            "product {} is priced in {}, but this order is in {}: an order has one currency",
                            p.sku,
                            p.currency,
                            currency.unwrap_or("")
                        ),
                    );
                    None
                }
                Some(p) => Some(p),
            },
        };
        let quantity = self.quantity.unwrap_or(1);
        if quantity < 1 {
            errs.add(f("quantity"), "must be a whole number of at least 1");
        }
        let unit_price = self.unit_price_minor.or(product.as_ref().map(|p| p.unit_price_minor));
        if let Some(Err(m)) = unit_price.map(check_amount) {
            errs.add(f("unit_price_minor"), m);
        }
        let discount_bp = self.discount_bp.unwrap_or(0);
        if !(0..=10_000).contains(&discount_bp) {
            errs.add(f("discount_bp"), "must be from 0 to 10000 basis points (0 % to 100 %)");
        }
        let discount_minor = self.discount_minor.unwrap_or(0);
        if let Err(m) = check_amount(discount_minor) {
            errs.add(f("discount_minor"), m);
        } else if discount_minor != 0 && discount_bp != 0 {
            errs.add(f("discount_minor"), "give discount_bp or discount_minor, not both");
        }
        let (Some(p), Some(unit_price_minor), true) = (product, unit_price, errs.0.len() == before) else {
            return None;
        };
        let line =
            OrderLine { product_id: self.product_id?, sku: p.sku, name: p.name, quantity, unit_price_minor, discount_bp, discount_minor };
        match line_totals(&line) {
            Ok(_) => Some(line),
            Err((field, m)) => {
                errs.add(f(field), m);
                None
            }
        }
    }
}

/// What a client sends to create (`customer_id` required; `currency` required unless a line's
/// product gives it) or update an order. Sending `status` moves the order by the status
/// rules (one step at a time); creating an order directly in a later status (an import of
/// past orders) stamps the passed steps with the order date.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The buying person.
    pub customer_id: Option<i64>,
    /// Company id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub company_id: Option<Option<i64>>,
    /// Opportunity id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub opportunity_id: Option<Option<i64>>,
    /// Campaign id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub campaign_id: Option<Option<i64>>,
    /// Owner's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// The status to move to.
    pub status: Option<OrderStatus>,
    /// ISO 4217 code; on a new order, the first line's product currency when absent.
    pub currency: Option<String>,
    /// Order day (YYYY-MM-DD).
    pub order_date: Option<String>,
    /// All lines (replaces the list).
    pub lines: Option<Vec<OrderLineInput>>,
    /// Tax rate in basis points (0 to 10,000).
    pub tax_rate_bp: Option<i64>,
    /// Notes, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl OrderInput {
    /// Merges onto `current` (or a new draft) and validates. On an order past draft, changing
    /// lines, currency, tax rate, customer or date is refused at once (field named, allowed
    /// actions listed); otherwise field errors come first, then a refused status move.
    pub fn apply(mut self, current: Option<&OrderData>, ctx: &OrderContext) -> Result<OrderData, Rejected> {
        if let Some(cur) = current.filter(|c| !c.status.lines_editable()) {
            let mut frozen = Vec::new();
            if self.lines.as_ref().is_some_and(|l| l.len() != cur.lines.len() || l.iter().zip(&cur.lines).any(|(i, c)| !i.restates(c))) {
                frozen.push("lines");
            }
            if self.currency.as_deref().is_some_and(|c| Currency::parse(c).map(|c| c.code() != cur.currency).unwrap_or(true)) {
                frozen.push("currency");
            }
            if self.tax_rate_bp.is_some_and(|t| t != cur.tax_rate_bp) {
                frozen.push("tax_rate_bp");
            }
            if self.customer_id.is_some_and(|c| Some(c) != cur.customer_id) {
                frozen.push("customer_id");
            }
            if self.order_date.as_deref().is_some_and(|v| parse_day(v).ok() != cur.order_date) {
                frozen.push("order_date");
            }
            if let Some(first) = frozen.first() {
                let reason = format!("the {} of a {} order cannot change, only a draft's can", frozen.join(", "), cur.status.as_str());
                return Err(Refused::new("order", "edit", cur.status.as_str(), cur.status.allowed_actions(), reason)
                    .on_field(first)
                    .into());
            }
            // What is left of these fields restates the current terms: nothing to apply, and
            // nothing to re-validate (a product deactivated since must not block the notes).
            (self.lines, self.currency, self.tax_rate_bp, self.customer_id, self.order_date) = (None, None, None, None, None);
        }

        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        match self.customer_id {
            Some(c) => d.customer_id = Some(c),
            None if creating => errs.add("customer_id", "is required: the person who buys"),
            None => {}
        }
        for (input, target) in [
            (self.company_id, &mut d.company_id),
            (self.opportunity_id, &mut d.opportunity_id),
            (self.campaign_id, &mut d.campaign_id),
            (self.owner_id, &mut d.owner_id),
        ] {
            if let Some(v) = input {
                *target = v;
            }
        }
        apply_text(&mut errs, "notes", self.notes, &mut d.notes, 20000);
        match self.order_date {
            Some(v) => {
                if let Some(v) = errs.check("order_date", parse_day(&v)) {
                    d.order_date = Some(v);
                }
            }
            None if creating => d.order_date = ctx.now.get(..10).map(str::to_string),
            None => {}
        }
        if let Some(t) = self.tax_rate_bp {
            if (0..=10_000).contains(&t) {
                d.tax_rate_bp = t;
            } else {
                errs.add("tax_rate_bp", "must be from 0 to 10000 basis points (0 % to 100 %)");
            }
        }

        let currency: Option<String> = match &self.currency {
            Some(c) => errs.check("currency", Currency::parse(c)).map(|c| c.code().to_string()),
            None if creating => {
                let first = self.lines.iter().flatten().find_map(|l| l.product_id.and_then(ctx.product));
                match first {
                    Some(p) => Some(p.currency),
                    None => {
                        errs.add("currency", "is required (or add a line: the order takes its product's currency)");
                        None
                    }
                }
            }
            None => Some(d.currency.clone()),
        };
        if !creating && self.lines.is_none() && !d.lines.is_empty() && currency.as_deref().is_some_and(|c| c != d.currency) {
            errs.add("currency", "send the lines again, priced in the new currency, to change the currency of an order with lines");
        }
        if let Some(c) = &currency {
            d.currency = c.clone();
        }
        if let Some(lines) = self.lines {
            if lines.len() > MAX_LINES {
                errs.add("lines", format!("an order has at most {MAX_LINES} lines"));
            }
            d.lines = lines.into_iter().enumerate().filter_map(|(i, l)| l.apply(i, currency.as_deref(), ctx, &mut errs)).collect();
        }
        if errs.0.is_empty()
            && let Err(e) = d.totals()
        {
            errs.0.extend(e.0);
        }

        let mut refusal = None;
        match self.status {
            Some(s) if creating => {
                d.status = s;
                let at = format!("{}T00:00:00.000000Z", d.order_date.as_deref().unwrap_or(""));
                let passed: &[OrderStatus] = match s {
                    OrderStatus::Draft => &[],
                    OrderStatus::Confirmed => &[OrderStatus::Confirmed],
                    OrderStatus::Paid => &[OrderStatus::Confirmed, OrderStatus::Paid],
                    OrderStatus::Shipped => &[OrderStatus::Confirmed, OrderStatus::Paid, OrderStatus::Shipped],
                    OrderStatus::Cancelled => &[OrderStatus::Cancelled],
                };
                for p in passed {
                    d.stamp(*p, &at);
                }
                if !matches!(s, OrderStatus::Draft | OrderStatus::Cancelled)
                    && d.lines.is_empty()
                    && !errs.0.iter().any(|e| e.field.starts_with("lines"))
                {
                    errs.add("lines", format!("a {} order needs at least one line", s.as_str()));
                }
            }
            Some(s) if s != d.status => match OrderAction::leading_to(s) {
                None => {
                    let r = Refused::new(
                        "order",
                        "return to draft",
                        d.status.as_str(),
                        d.status.allowed_actions(),
                        "an order cannot return to draft",
                    );
                    refusal = Some(r.on_field("status"));
                }
                Some(action) => match d.perform(action, ctx.now) {
                    Ok(next) => d = next,
                    Err(Rejected::Invalid(e)) => errs.0.extend(e.0),
                    Err(Rejected::Refused(r)) => refusal = Some(r),
                },
            },
            _ => {}
        }

        if !errs.0.is_empty() {
            return Err(errs.into());
        }
        match refusal {
            Some(r) => Err(r.into()),
            None => Ok(d),
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            Paid.transition(Cancel).unwrap_err().to_string(),
            "a paid order is a purchase and cannot be cancelled: allowed now: ship"
        );
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
        let e = input(
            r#"{"customer_id":1,"lines":[{"product_id":1,"unit_price_minor":9007199254740991},{"product_id":1,"unit_price_minor":1}]}"#,
        )
        .apply(None, &ctx())
        .unwrap_err();
        assert_eq!(fields(e), ["lines"], "the order total is too large");
        assert!(
            serde_json::from_str::<OrderInput>(r#"{"lines":[{"product_id":1,"price":3}]}"#).is_err(),
            "unknown line fields are refused"
        );
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
        let e =
            input(r#"{"customer_id":1,"lines":[{"product_id":99},{"product_id":4},{"product_id":1}]}"#).apply(None, &ctx()).unwrap_err();
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
}

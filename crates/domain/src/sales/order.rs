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
        Field::new("external_id", "External id", Kind::Text).unique().filtered(),
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
    /// The order's id in the shop or ERP it came from (unique among live orders): batch calls
    /// and imports upsert by it.
    #[serde(default)]
    pub external_id: Option<String>,
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
    /// The order's id in another system, unique among live orders (batch upserts use it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
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
        apply_text(&mut errs, "external_id", self.external_id, &mut d.external_id, 100);
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
mod tests;

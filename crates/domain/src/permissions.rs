//! Who may do what, and to which records.
//!
//! A role is a [`Permissions`] set: object × action grants (`pii` included, to see sensitive
//! fields unmasked) plus a [`Visibility`] that decides which records it reaches. The six
//! built-in roles are defined here in code; admins add custom roles as data. Every store call
//! takes an [`Actor`] and asks [`require`] before touching data, and the store turns
//! [`Actor::visibility`] into a `WHERE` clause, so no path (HTTP, UI, CLI, exports, reports)
//! can skip either check.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// A built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, roles, teams and the audit log.
    Admin,
    /// Sales and service data of their teams, and the analytics runs that score everyone.
    Manager,
    /// Their own records and those their team shares.
    SalesRep,
    /// Every customer, to serve them; no deletes.
    SupportAgent,
    /// Every customer, for campaigns; no personal data, no edits.
    Marketer,
    /// Reads only, without personal data.
    Viewer,
}

impl Role {
    /// Every built-in role.
    pub const ALL: [Role; 6] = [Role::Admin, Role::Manager, Role::SalesRep, Role::SupportAgent, Role::Marketer, Role::Viewer];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::SalesRep => "sales_rep",
            Role::SupportAgent => "support_agent",
            Role::Marketer => "marketer",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a built-in role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Where the role reaches fewer records of `object` than its visibility says: support
    /// agents serve every customer but work the tickets of their teams' queues.
    pub fn narrowed(self, object: Object) -> Option<Visibility> {
        (self == Role::SupportAgent && object == Object::Ticket).then_some(Visibility::Team)
    }

    /// The role's permissions.
    pub fn permissions(self) -> Permissions {
        use Action::*;
        use Object::*;
        let people = |actions: &[Action]| [(Customer, actions.to_vec()), (Company, actions.to_vec())];
        // Everyone reads the catalogue, the pipelines and the targets; admins change both, and
        // managers the catalogue too.
        let basics = [
            (CustomField, vec![Read]),
            (User, vec![Read]),
            (Team, vec![Read]),
            (RoleDef, vec![Read]),
            (Campaign, vec![Read]),
            (Product, vec![Read]),
            (Pipeline, vec![Read]),
            (Target, vec![Read]),
            (Macro, vec![Read]),
        ];
        // The records of selling: opportunities, orders and activities.
        let deals = |actions: &[Action]| [(Opportunity, actions.to_vec()), (Order, actions.to_vec()), (Activity, actions.to_vec())];
        let (grants, visibility): (Vec<(Object, Vec<Action>)>, Visibility) = match self {
            Role::Admin => {
                let all = |o: Object| Action::ALL.into_iter().filter(|a| applies(o, *a)).collect();
                (Object::ALL.iter().map(|o| (*o, all(*o))).collect(), Visibility::All)
            }
            Role::Manager => (
                people(&[Read, Create, Update, Delete, Export, Pii, Assign])
                    .into_iter()
                    .chain(basics)
                    .chain(deals(&[Read, Create, Update, Delete, Export, Assign]))
                    .chain([(Target, vec![Read, Create, Update, Delete])])
                    .chain([(Product, vec![Read, Create, Update, Delete])])
                    .chain([(Ticket, vec![Read, Create, Update, Delete, Export, Assign])])
                    .chain([(Macro, vec![Read, Create, Update, Delete])])
                    .chain([(Analytics, vec![Run])])
                    .collect(),
                Visibility::Team,
            ),
            Role::SalesRep => (
                people(&[Read, Create, Update, Delete, Pii])
                    .into_iter()
                    .chain(basics)
                    .chain(deals(&[Read, Create, Update, Delete]))
                    .chain([(Ticket, vec![Read])])
                    .collect(),
                Visibility::Own,
            ),
            Role::SupportAgent => (
                people(&[Read, Update, Pii])
                    .into_iter()
                    .chain(basics)
                    .chain(deals(&[Read]))
                    .chain([(Activity, vec![Read, Create, Update])])
                    .chain([(Ticket, vec![Read, Create, Update, Assign])])
                    .collect(),
                Visibility::All,
            ),
            Role::Marketer => (
                people(&[Read, Export])
                    .into_iter()
                    .chain(basics)
                    .chain(deals(&[Read]))
                    .chain([(Campaign, vec![Read, Create, Update, Delete])])
                    .collect(),
                Visibility::All,
            ),
            Role::Viewer => {
                (people(&[Read]).into_iter().chain(basics).chain(deals(&[Read])).chain([(Ticket, vec![Read])]).collect(), Visibility::All)
            }
        };
        Permissions { grants: grants.into_iter().map(|(o, a)| (o, a.into_iter().collect())).collect(), visibility }
    }
}

/// The kinds of data permissions are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Object {
    /// People.
    Customer,
    /// Companies.
    Company,
    /// Custom field definitions.
    CustomField,
    /// User accounts.
    User,
    /// Teams.
    Team,
    /// Role definitions.
    #[serde(rename = "role")]
    RoleDef,
    /// The audit log.
    AuditLog,
    /// Marketing campaigns.
    Campaign,
    /// Analytics runs that write scores onto people (its one action is `run`).
    Analytics,
    /// Products (the catalogue orders sell from).
    Product,
    /// Orders and their lines.
    Order,
    /// Opportunities (deals).
    Opportunity,
    /// Sales pipelines and their stages.
    Pipeline,
    /// Tasks, calls, meetings, notes and logged emails.
    Activity,
    /// Sales targets (quotas).
    Target,
    /// Server settings (the web form's allowed origins and default owner): admins only.
    Setting,
    /// Customer service tickets.
    Ticket,
    /// Canned replies (macros) agents apply to tickets.
    Macro,
}

impl Object {
    /// Every object.
    pub const ALL: [Object; 18] = [
        Object::Customer,
        Object::Company,
        Object::CustomField,
        Object::User,
        Object::Team,
        Object::RoleDef,
        Object::AuditLog,
        Object::Campaign,
        Object::Analytics,
        Object::Product,
        Object::Order,
        Object::Opportunity,
        Object::Pipeline,
        Object::Activity,
        Object::Target,
        Object::Setting,
        Object::Ticket,
        Object::Macro,
    ];
}

/// What is done to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See records.
    Read,
    /// Add records.
    Create,
    /// Change records.
    Update,
    /// Delete records.
    Delete,
    /// Take data out in bulk (exports, privacy exports).
    Export,
    /// See sensitive fields (email, phone, address) unmasked.
    Pii,
    /// Leave records unowned or give them to someone outside one's teams.
    Assign,
    /// Erase a person's personal data for good (the right to be forgotten).
    Erase,
    /// Start a run (analytics only).
    Run,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::Read,
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Export,
        Action::Pii,
        Action::Assign,
        Action::Erase,
        Action::Run,
    ];
}

/// Whether `action` means something on `object`: `run` is analytics' only action, and only
/// analytics takes it.
pub fn applies(object: Object, action: Action) -> bool {
    (object == Object::Analytics) == (action == Action::Run)
}

/// Which records a role reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every record.
    All,
    /// Records owned by anyone in the user's teams, their own, and unowned ones.
    Team,
    /// Their own records, unowned ones, and those owned by members of teams whose visibility
    /// is `team`.
    Own,
}

/// A permission set: what a role may do, and to which records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Permissions {
    /// Actions allowed per object.
    #[schema(value_type = Object)]
    pub grants: BTreeMap<Object, BTreeSet<Action>>,
    /// Which records the role reaches.
    pub visibility: Visibility,
}

impl Permissions {
    /// Whether `action` on `object` is granted.
    pub fn allows(&self, object: Object, action: Action) -> bool {
        self.grants.get(&object).is_some_and(|a| a.contains(&action))
    }

    /// Checks a custom role's permissions: each action must apply to its object, and reading
    /// is needed for any other action (analytics, whose only action is `run`, aside).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        for (o, actions) in &self.grants {
            for a in actions.iter().filter(|a| !applies(*o, **a)) {
                errs.add("permissions.grants", format!("{o:?} does not take {a:?}"));
            }
            if *o != Object::Analytics && !actions.is_empty() && !actions.contains(&Action::Read) {
                errs.add("permissions.grants", format!("{o:?} needs read for its other actions"));
            }
        }
        errs.into_result(())
    }
}

/// Who is acting: a signed-in user, or the system itself (demo seeding, restore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// User id; `None` for the system.
    pub user_id: Option<i64>,
    /// Role name (built-in or custom).
    pub role: String,
    /// The role's permissions (shared: an actor is made for every request).
    pub perms: std::sync::Arc<Permissions>,
    /// Request id for the audit log, when acting on behalf of an HTTP request.
    pub request_id: Option<String>,
}

impl Actor {
    /// The system actor, for work no user started.
    pub fn system() -> Actor {
        Actor { user_id: None, role: "system".into(), perms: Role::Admin.permissions().into(), request_id: None }
    }

    /// Someone not signed in (a sign-in attempt), for the audit log; `user_id` is the account
    /// the attempt named, if it exists.
    pub fn anonymous(user_id: Option<i64>, request_id: Option<String>) -> Actor {
        Actor { user_id, role: "anonymous".into(), perms: Role::Viewer.permissions().into(), request_id }
    }

    /// A user acting with a built-in role.
    pub fn user(user_id: i64, role: Role) -> Actor {
        Actor { user_id: Some(user_id), role: role.as_str().into(), perms: role.permissions().into(), request_id: None }
    }

    /// Which records this actor reaches.
    pub fn visibility(&self) -> Visibility {
        self.perms.visibility
    }

    /// Which `object` records this actor reaches: the role's visibility, narrowed for built-in
    /// roles where [`Role::narrowed`] says so (custom roles keep their own for every object).
    pub fn visibility_of(&self, object: Object) -> Visibility {
        if self.user_id.is_none() {
            return Visibility::All;
        }
        Role::parse(&self.role).and_then(|r| r.narrowed(object)).unwrap_or(self.perms.visibility)
    }

    /// Whether sensitive fields are shown unmasked.
    pub fn sees_pii(&self, object: Object) -> bool {
        self.perms.allows(object, Action::Pii)
    }

    /// The owner of a record this actor creates: the one asked for (`Some(None)` asks for an
    /// unowned record), or the actor when none was named. The store checks that the actor may
    /// assign it (see [`Actor::may_assign`]).
    pub fn owner_for_new(&self, asked: Option<Option<i64>>) -> Option<i64> {
        asked.unwrap_or(self.user_id)
    }

    /// Whether this actor may leave `object` records unowned or give them to anyone: admins and
    /// managers, and custom roles granted `assign`. Others may own records themselves or give
    /// them to members of their own teams.
    pub fn may_assign(&self, object: Object) -> bool {
        self.user_id.is_none() || self.perms.allows(object, Action::Assign)
    }
}

/// Refused: the actor's role lacks the permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("your role '{role}' may not {action:?} {object:?} records")]
pub struct Denied {
    /// The actor's role.
    pub role: String,
    /// The object.
    pub object: Object,
    /// The action.
    pub action: Action,
}

/// Checks the actor's permission set.
pub fn require(actor: &Actor, object: Object, action: Action) -> Result<(), Denied> {
    if actor.perms.allows(object, action) { Ok(()) } else { Err(Denied { role: actor.role.clone(), object, action }) }
}

/// Masks a sensitive value for roles without `pii`: `ann.lee@example.com` → `a•••@example.com`,
/// `+14155550134` → `+•••••••0134`, anything else → `•••`.
pub fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}•••@{domain}");
    }
    if value.starts_with('+') {
        let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        return format!("+•••••••{tail}");
    }
    "•••".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles_grant_what_their_names_say() {
        let can = |r: Role, o, a| r.permissions().allows(o, a);
        assert!(can(Role::Viewer, Object::Customer, Action::Read));
        assert!(!can(Role::Viewer, Object::Customer, Action::Update));
        assert!(!can(Role::Viewer, Object::Customer, Action::Pii));
        assert!(can(Role::SalesRep, Object::Customer, Action::Update));
        assert!(!can(Role::SalesRep, Object::CustomField, Action::Create));
        assert!(!can(Role::Manager, Object::AuditLog, Action::Read));
        assert!(can(Role::Admin, Object::AuditLog, Action::Read));
        assert!(!can(Role::Marketer, Object::Customer, Action::Delete));
        assert_eq!(Role::SalesRep.permissions().visibility, Visibility::Own);
    }

    #[test]
    fn score_runs_are_for_admins_managers_and_roles_granted_them() {
        for r in Role::ALL {
            let runs = r.permissions().allows(Object::Analytics, Action::Run);
            assert_eq!(runs, matches!(r, Role::Admin | Role::Manager), "{r:?}");
            assert!(r.permissions().validate().is_ok(), "{r:?}");
        }
        assert!(Actor::system().perms.allows(Object::Analytics, Action::Run));
        let grants = |g: &[(Object, &[Action])]| Permissions {
            grants: g.iter().map(|(o, a)| (*o, a.iter().copied().collect())).collect(),
            visibility: Visibility::Own,
        };
        assert!(grants(&[(Object::Analytics, &[Action::Run])]).validate().is_ok(), "run needs no read");
        assert!(grants(&[(Object::Customer, &[Action::Read, Action::Run])]).validate().is_err());
        assert!(grants(&[(Object::Analytics, &[Action::Run, Action::Read])]).validate().is_err());
    }

    #[test]
    fn sales_grants_of_the_built_in_roles() {
        use Action::*;
        use Object::*;
        let grants = |r: Role, o: Object| -> Vec<Action> { Action::ALL.into_iter().filter(|a| r.permissions().allows(o, *a)).collect() };
        for o in [Opportunity, Order, Activity] {
            assert_eq!(grants(Role::Admin, o), Action::ALL.into_iter().filter(|a| applies(o, *a)).collect::<Vec<_>>());
            assert_eq!(grants(Role::Manager, o), [Read, Create, Update, Delete, Export, Assign], "{o:?}");
            assert_eq!(grants(Role::SalesRep, o), [Read, Create, Update, Delete], "{o:?}");
            assert_eq!(grants(Role::Marketer, o), [Read], "{o:?}");
            assert_eq!(grants(Role::Viewer, o), [Read], "{o:?}");
        }
        assert_eq!(grants(Role::SupportAgent, Opportunity), [Read]);
        assert_eq!(grants(Role::SupportAgent, Order), [Read]);
        assert_eq!(grants(Role::SupportAgent, Activity), [Read, Create, Update]);
        for o in [Product, Pipeline] {
            assert_eq!(grants(Role::Admin, o), Action::ALL.into_iter().filter(|a| applies(o, *a)).collect::<Vec<_>>());
            for r in [Role::SalesRep, Role::SupportAgent, Role::Marketer, Role::Viewer] {
                assert_eq!(grants(r, o), [Read], "{r:?} {o:?}");
            }
        }
        assert_eq!(grants(Role::Manager, Pipeline), [Read]);
        assert_eq!(grants(Role::Manager, Product), [Read, Create, Update, Delete], "managers keep the catalogue");
        assert_eq!(grants(Role::Manager, Target), [Read, Create, Update, Delete]);
        for r in [Role::SalesRep, Role::SupportAgent, Role::Marketer, Role::Viewer] {
            assert_eq!(grants(r, Target), [Read], "{r:?}");
        }
        // Every built-in grant passes the rule custom roles are held to.
        for r in Role::ALL {
            assert!(r.permissions().validate().is_ok(), "{r:?}");
        }
        let names: Vec<String> = Object::ALL[9..].iter().map(|o| serde_json::to_value(o).unwrap().as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["product", "order", "opportunity", "pipeline", "activity", "target", "setting", "ticket", "macro"]);
        // Managers keep the macros every agent applies.
        assert_eq!(grants(Role::Manager, Macro), [Read, Create, Update, Delete]);
        for r in [Role::SalesRep, Role::SupportAgent, Role::Marketer, Role::Viewer] {
            assert_eq!(grants(r, Macro), [Read], "{r:?}");
        }
        // Service: agents work tickets, leave them in the queue and hand them to any agent;
        // managers also delete them; reps and viewers read their customers' tickets, marketers
        // do not see them.
        assert_eq!(grants(Role::SupportAgent, Ticket), [Read, Create, Update, Assign]);
        assert_eq!(grants(Role::Manager, Ticket), [Read, Create, Update, Delete, Export, Assign]);
        assert_eq!(grants(Role::SalesRep, Ticket), [Read]);
        assert_eq!(grants(Role::Viewer, Ticket), [Read]);
        assert!(grants(Role::Marketer, Ticket).is_empty());
        for r in [Role::Manager, Role::SalesRep, Role::SupportAgent, Role::Marketer, Role::Viewer] {
            assert!(grants(r, Setting).is_empty(), "{r:?}: settings are for admins");
        }
    }

    #[test]
    fn support_agents_reach_every_customer_but_their_teams_tickets() {
        let agent = Actor::user(7, Role::SupportAgent);
        assert_eq!(agent.visibility_of(Object::Customer), Visibility::All);
        assert_eq!(agent.visibility_of(Object::Ticket), Visibility::Team);
        assert_eq!(Actor::user(8, Role::Manager).visibility_of(Object::Ticket), Visibility::Team);
        assert_eq!(Actor::user(9, Role::Admin).visibility_of(Object::Ticket), Visibility::All);
        assert_eq!(Actor::user(10, Role::SalesRep).visibility_of(Object::Ticket), Visibility::Own);
        assert_eq!(Actor::system().visibility_of(Object::Ticket), Visibility::All);
        let custom = Actor { role: "helpdesk".into(), ..Actor::user(11, Role::Viewer) };
        assert_eq!(custom.visibility_of(Object::Ticket), Visibility::All, "custom roles keep their own visibility");
    }

    #[test]
    fn masks_keep_only_what_identifies_nobody() {
        assert_eq!(mask("ann.lee@example.com"), "a•••@example.com");
        assert_eq!(mask("+14155550134"), "+•••••••0134");
        assert_eq!(mask("1 Main St"), "•••");
    }

    #[test]
    fn custom_roles_need_read_for_other_actions() {
        let p = Permissions {
            grants: [(Object::Customer, [Action::Update].into_iter().collect())].into_iter().collect(),
            visibility: Visibility::Own,
        };
        assert!(p.validate().is_err());
    }
}

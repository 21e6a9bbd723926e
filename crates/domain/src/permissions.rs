//! Who may do what. Every store call takes an [`Actor`] and asks [`require`] before touching
//! data, so no path (HTTP, UI, CLI) can skip the check. Record-level rules (owner, team) are
//! applied inside the store's queries through [`Actor::scope`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users and settings.
    Admin,
    /// Sales and service data of their team.
    Manager,
    /// Their own customers and deals.
    SalesRep,
    /// Tickets and the customers behind them.
    SupportAgent,
    /// Campaigns and segments.
    Marketer,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Every built-in role.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::SalesRep,
        Role::SupportAgent,
        Role::Marketer,
        Role::Viewer,
    ];

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

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The kinds of data permissions are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// People.
    Customer,
    /// Companies.
    Company,
    /// Custom field definitions.
    CustomField,
    /// User accounts.
    User,
}

/// What is done to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See records.
    Read,
    /// Add records.
    Create,
    /// Change records.
    Update,
    /// Delete records.
    Delete,
}

/// Who is acting: a signed-in user, or the system itself (demo seeding, migrations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// User id; `None` for the system.
    pub user_id: Option<i64>,
    /// Role.
    pub role: Role,
    /// Request id for the audit log, when acting on behalf of an HTTP request.
    pub request_id: Option<String>,
}

/// Which records an actor may see. The store turns this into a `WHERE` clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every record.
    All,
}

impl Actor {
    /// The system actor, for work no user started.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            role: Role::Admin,
            request_id: None,
        }
    }

    /// The records this actor may see. Until teams exist (issue 3) every role sees all records.
    pub fn scope(&self) -> Scope {
        Scope::All
    }
}

/// Refused: the actor's role lacks the permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("your role '{}' may not {action:?} {object:?} records", role.as_str())]
pub struct Denied {
    /// The actor's role.
    pub role: Role,
    /// The object.
    pub object: Object,
    /// The action.
    pub action: Action,
}

/// Checks the role × object × action matrix.
pub fn require(actor: &Actor, object: Object, action: Action) -> Result<(), Denied> {
    use Action::*;
    use Object::*;
    let allowed = match (actor.role, object, action) {
        (Role::Admin, _, _) => true,
        (_, User | CustomField, Read) => true,
        (_, User | CustomField, _) => false,
        (Role::Viewer, _, Read) => true,
        (Role::Viewer, _, _) => false,
        (Role::Marketer | Role::SupportAgent, _, Delete) => false,
        (
            Role::Manager | Role::SalesRep | Role::SupportAgent | Role::Marketer,
            Customer | Company,
            _,
        ) => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied {
            role: actor.role,
            object,
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_role(role: Role) -> Actor {
        Actor {
            user_id: Some(1),
            role,
            request_id: None,
        }
    }

    #[test]
    fn viewers_only_read_and_only_admins_manage_fields_and_users() {
        assert!(require(&as_role(Role::Viewer), Object::Customer, Action::Read).is_ok());
        assert!(require(&as_role(Role::Viewer), Object::Customer, Action::Update).is_err());
        assert!(require(&as_role(Role::SalesRep), Object::Customer, Action::Update).is_ok());
        assert!(
            require(
                &as_role(Role::SalesRep),
                Object::CustomField,
                Action::Create
            )
            .is_err()
        );
        assert!(require(&as_role(Role::SalesRep), Object::CustomField, Action::Read).is_ok());
        assert!(require(&as_role(Role::Admin), Object::User, Action::Create).is_ok());
        assert!(require(&as_role(Role::Marketer), Object::Customer, Action::Delete).is_err());
    }
}

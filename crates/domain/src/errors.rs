use serde::Serialize;

/// One problem with one field of the input, as shown to the user.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name as the client sent it (`email`, `custom.industry`, `address.city`).
    pub field: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

/// Every problem found in one input; empty means valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    /// A single-field error, for checks made one at a time (e.g. by the store).
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, message);
        e
    }

    /// `Ok(value)` when nothing was recorded, the errors otherwise.
    pub fn into_result<T>(self, value: T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }

    /// Runs a parser and records its error under `field`, returning the parsed value if any.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

//! The crate's single error type.

/// Everything that can go wrong in an analysis.
///
/// Analyses are pure functions, so errors describe bad input (too little
/// data, inconsistent shapes, unparsable values) or a numerical failure.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// The input has no rows (or no usable rows) for this analysis.
    #[error("no data: {0}")]
    Empty(&'static str),
    /// The input is too small for the requested model.
    #[error("not enough data for {what}: need at least {need}, got {got}")]
    TooFew {
        /// What was being computed.
        what: &'static str,
        /// Minimum count required.
        need: usize,
        /// Count available.
        got: usize,
    },
    /// Rows or columns have inconsistent lengths.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A parameter is outside its valid range.
    #[error("invalid parameter {name}: {detail}")]
    Parameter {
        /// Parameter name.
        name: &'static str,
        /// Why it is invalid.
        detail: String,
    },
    /// A value could not be parsed (for example a timestamp).
    #[error("cannot parse {what} from {value:?}")]
    Parse {
        /// What was expected.
        what: &'static str,
        /// The offending text.
        value: String,
    },
    /// The design matrix is singular (collinear predictors).
    #[error("singular matrix: {0}")]
    Singular(&'static str),
    /// An iterative method did not converge.
    #[error("did not converge: {0}")]
    NoConvergence(&'static str),
}

/// Result alias using [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

//! Data in and out (issue 13), apart from HTTP: the export formats and the importer, shared by
//! the API, the UI and the command line.

pub mod export;
pub mod import;

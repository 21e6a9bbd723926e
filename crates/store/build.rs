// `sqlx::migrate!` embeds the migrations at compile time but cannot tell cargo about a file
// added to their folders on stable Rust: without this, a new migration is missing from the
// binary until something else makes the crate rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

//! Tauri's build step: the app crate is the repository root (where tauri.conf.json
//! lives), so point it at the capabilities kept under src-tauri/.
fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*"),
    )
    .expect("tauri build step");
}
